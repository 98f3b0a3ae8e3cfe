"""World-model records: what the graph and memory tell the decision agent, with their evidence."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class GraphPath(BaseModel):
    """A path walked in the situation graph, kept as evidence (e.g. Account-[WORKS_AT]-Contact)."""

    model_config = ConfigDict(frozen=True)

    # Alternating vertex and edge descriptions, e.g. ["Account:a1", "WORKS_AT", "Contact:c3"].
    steps: list[str]

    def __str__(self) -> str:
        return " -> ".join(self.steps)


class ContactView(BaseModel):
    contact_id: str
    name: str
    title: str | None = None
    role: str | None = None
    status: str | None = None


class OpportunityView(BaseModel):
    opportunity_id: str
    name: str
    stage: str
    amount: float | None = None
    close_date: str | None = None


class AccountContext(BaseModel):
    """An account's neighbourhood in the situation graph."""

    tenant: str
    account_id: str
    name: str | None
    owner: str | None
    contacts: list[ContactView] = Field(default_factory=list)
    champions: list[ContactView] = Field(default_factory=list)
    open_opportunities: list[OpportunityView] = Field(default_factory=list)
    recent_signal_ids: list[str] = Field(default_factory=list)
    paths: list[GraphPath] = Field(default_factory=list)


class GraphSyncStats(BaseModel):
    vertices_upserted: int = 0
    edges_upserted: int = 0
    vertices_removed: int = 0
    edges_removed: int = 0


class MemoryDocument(BaseModel):
    """A text the loop may want to recall later: a signal narrative, a note, a brief, a decision."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    tenant: str
    account_id: str | None
    source: str  # signal | note | brief | decision
    text: str
    created_at: datetime
    metadata: dict[str, Any] = Field(default_factory=dict)


class MemoryHit(BaseModel):
    """A recalled document with its citation."""

    doc_id: str
    source: str
    account_id: str | None
    snippet: str
    score: float


class ProductUsage(BaseModel):
    product: str
    last_day: str | None = None
    active_users: int | None = None
    seats_used: int | None = None


class AccountNeighbourhood(BaseModel):
    """An account's properties, the products it uses and how many neighbours of each kind it has."""

    tenant: str
    account_id: str
    found: bool
    properties: dict[str, str | int | float | bool] = Field(default_factory=dict)
    products: list[ProductUsage] = Field(default_factory=list)
    neighbours: dict[str, int] = Field(default_factory=dict)  # vertex label -> count, one hop
    paths: list[GraphPath] = Field(default_factory=list)


class CommitteeMember(BaseModel):
    contact: ContactView
    is_champion: bool = False  # an active champion (CHAMPION_OF)
    opportunity_ids: list[str] = Field(default_factory=list)  # deals they took part in (via events)
    last_engaged_on: str | None = None  # newest activity that involved them
    paths: list[GraphPath] = Field(default_factory=list)


class BuyingCommittee(BaseModel):
    """Who decides at an account: champions first, then economic buyers, then everyone else."""

    tenant: str
    account_id: str
    members: list[CommitteeMember] = Field(default_factory=list)
    champion: ContactView | None = None  # the active champion, if any
    economic_buyers: list[ContactView] = Field(default_factory=list)
    paths: list[GraphPath] = Field(default_factory=list)

    @property
    def has_active_champion(self) -> bool:
        return self.champion is not None


class StageChange(BaseModel):
    sequence: int
    from_stage: str | None = None  # None: the first stage the graph saw
    to_stage: str
    occurred_on: str | None = None  # the source's stage_changed_on, when it has one


class OpportunityHistory(BaseModel):
    opportunity: OpportunityView
    stage_changed_on: str | None = None
    stage_history: list[StageChange] = Field(default_factory=list)  # oldest first
    paths: list[GraphPath] = Field(default_factory=list)


class RiskView(BaseModel):
    risk_id: str
    kind: str  # adoption | champion_loss | deal_timing | deal_health
    severity: str
    entity_type: str
    entity_id: str
    first_seen_at: str
    last_seen_at: str
    signal_ids: list[str] = Field(default_factory=list)
    paths: list[GraphPath] = Field(default_factory=list)


class EventView(BaseModel):
    event_id: str
    event_type: str  # note | task | email | call | meeting | stage_change
    occurred_on: str | None = None
    subject: str | None = None
    direction: str | None = None
    from_stage: str | None = None
    to_stage: str | None = None
    contact_ids: list[str] = Field(default_factory=list)
    opportunity_ids: list[str] = Field(default_factory=list)
    paths: list[GraphPath] = Field(default_factory=list)
