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
