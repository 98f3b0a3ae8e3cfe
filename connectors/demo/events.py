"""Ground truth: what the demo world really did, so detected signals can be scored against it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Same spelling as perception.contracts.SignalKind (a unit test keeps them equal; connectors may
# not import perception).
EVENT_KINDS: tuple[str, ...] = (
    "usage_drop", "champion_departed", "deal_slipped", "stage_regression", "expansion_intent",
    "seat_contraction", "amount_reduced", "no_activity", "ghosted", "too_few_contacts", "no_economic_buyer",
    "stalled_in_stage", "renewal_approaching",
)
# Kinds that are a state holding over time (raised once per episode); the rest are changes.
CONDITION_KINDS: tuple[str, ...] = (
    "no_activity", "ghosted", "too_few_contacts", "no_economic_buyer", "stalled_in_stage",
    "renewal_approaching",
)


class GroundTruthEvent(BaseModel):
    """One event of the simulated world: a change it injected (its effect persists), or the day a risky
    condition became true (condition kinds), stated as (tenant, kind, entity) like a signal."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    day: date
    kind: str
    account_id: str
    entity_type: str  # account | contact | opportunity
    entity_id: str
    details: dict[str, Any] = Field(default_factory=dict)
