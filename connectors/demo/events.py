"""Ground truth: what the demo world really did, so detected signals can be scored against it."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# Same spelling as perception.contracts.SignalKind (a unit test keeps them equal; connectors may
# not import perception).
EVENT_KINDS: tuple[str, ...] = (
    "usage_drop", "champion_departed", "deal_slipped", "stage_regression", "expansion_intent",
)


class GroundTruthEvent(BaseModel):
    """One event the simulator injected; its effect persists in the world."""

    model_config = ConfigDict(frozen=True)

    tenant: str
    day: date
    kind: str
    account_id: str
    entity_type: str  # account | contact | opportunity
    entity_id: str
    details: dict[str, Any] = Field(default_factory=dict)
