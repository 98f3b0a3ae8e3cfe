"""What the policies see besides the proposal: kill switches and budgets, as the Cedar request context.

A ``ControlState`` is read from decisioning.controls at every classification; this module turns it into
the context record declared in revloop.cedarschema (money in cents: Cedar has no decimals)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class ControlState:
    """The controls in force for one proposal at one moment.

    ``killed_by`` / ``paused_by`` name the switches that cover it (``all``, ``tenant:acme``,
    ``action_type:crm.update_field``, ``tenant:acme/action_type:...``); a stop switch forbids, a pause
    switch leaves a human in charge. Usage is today's (UTC) usage of the tenant before this proposal."""

    killed_by: tuple[str, ...] = ()
    paused_by: tuple[str, ...] = ()
    max_actions_per_day: int | None = None
    max_spend_per_day_cents: int | None = None
    actions_today: int = 0
    spend_today_cents: int = 0
    day: date | None = None

    @property
    def killed(self) -> bool:
        return bool(self.killed_by)

    @property
    def paused(self) -> bool:
        return bool(self.paused_by)

    def record(self) -> dict[str, Any]:
        """JSON for the ledger: everything that went into the context, and which switches did it."""
        return {
            "killed_by": list(self.killed_by), "paused_by": list(self.paused_by),
            "max_actions_per_day": self.max_actions_per_day,
            "max_spend_per_day_cents": self.max_spend_per_day_cents,
            "actions_today": self.actions_today, "spend_today_cents": self.spend_today_cents,
            "day": self.day.isoformat() if self.day else None,
        }


def cedar_context(state: ControlState, *, automation_paused: bool = False) -> dict[str, Any]:
    """The Cedar request context. Budgets are optional attributes: absent means no budget."""
    context: dict[str, Any] = {
        "killed": state.killed,
        "automation_paused": state.paused or automation_paused,
        "actions_today": state.actions_today,
        "spend_today_cents": state.spend_today_cents,
    }
    if state.max_actions_per_day is not None:
        context["max_actions_per_day"] = state.max_actions_per_day
    if state.max_spend_per_day_cents is not None:
        context["max_spend_per_day_cents"] = state.max_spend_per_day_cents
    return context
