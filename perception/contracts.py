"""Perception's records: field-level changes between snapshots, and the signals raised from them.

Versioned pydantic contracts; every later stage (graph, memory, agent, review UI, ledger) reads these."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SIGNAL_SCHEMA_VERSION = 1


class ChangeType(StrEnum):
    inserted = "inserted"
    deleted = "deleted"
    changed = "changed"


class FieldChange(BaseModel):
    """One field of one record that differs between two consecutive snapshots (or a webhook event)."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    object: str  # canonical table: accounts | contacts | opportunities | usage
    entity_id: str
    account_id: str | None
    change: ChangeType
    field: str | None  # None for whole-record inserts/deletes
    before: Any = None
    after: Any = None


class SignalKind(StrEnum):
    """The signal taxonomy (see perception/README.md). The first five are the original kinds; the
    order is the playbook's tie-break order."""

    usage_drop = "usage_drop"
    champion_departed = "champion_departed"
    deal_slipped = "deal_slipped"
    stage_regression = "stage_regression"
    expansion_intent = "expansion_intent"
    seat_contraction = "seat_contraction"
    amount_reduced = "amount_reduced"
    no_activity = "no_activity"
    ghosted = "ghosted"
    too_few_contacts = "too_few_contacts"
    no_economic_buyer = "no_economic_buyer"
    stalled_in_stage = "stalled_in_stage"
    renewal_approaching = "renewal_approaching"


# A condition is a state that holds for a while (one signal per episode); every other kind is a change
# between consecutive snapshots (or a usage time series crossing its baseline).
CONDITION_KINDS: frozenset[SignalKind] = frozenset({
    SignalKind.no_activity, SignalKind.ghosted, SignalKind.too_few_contacts, SignalKind.no_economic_buyer,
    SignalKind.stalled_in_stage, SignalKind.renewal_approaching,
})


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Evidence(BaseModel):
    """A before/after fact a signal rests on."""

    model_config = ConfigDict(frozen=True)

    object: str
    entity_id: str
    field: str | None
    before: Any = None
    after: Any = None
    note: str | None = None


class Signal(BaseModel):
    """Something that changed and matters, about one entity of one tenant's account."""

    model_config = ConfigDict(frozen=True)

    schema_version: Literal[1] = SIGNAL_SCHEMA_VERSION
    tenant: str
    account_id: str
    entity_type: str  # account | contact | opportunity
    entity_id: str
    kind: SignalKind
    severity: Severity
    evidence: list[Evidence] = Field(min_length=1)
    observed_at: datetime
    source: str  # connector or webhook source that produced the data
    dedupe_key: str  # same condition -> same key -> raised once
    narrative: str  # one human sentence; embedded into semantic memory
    heat: float = Field(default=0.0, ge=0.0, le=100.0)  # how urgent, 0..100 (perception/heat.py)
    # W3C/OpenTelemetry trace id of the webhook request that caused this signal (None for pulls).
    trace_id: str | None = None

    @property
    def signal_id(self) -> str:
        return "sig_" + hashlib.sha256(f"{self.tenant}|{self.dedupe_key}".encode()).hexdigest()[:20]
