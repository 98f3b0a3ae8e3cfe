"""The records of the policy controls as read back from SQL: kill switches, budgets, a day's usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from decisioning.policy_control_tables import ANY


def scope_name(tenant: str, action_type: str) -> str:
    """``all``, ``tenant:acme``, ``action_type:crm.update_field`` or ``tenant:acme/action_type:...``."""
    parts = [f"tenant:{tenant}" if tenant != ANY else "", f"action_type:{action_type}" if action_type != ANY
             else ""]
    return "/".join(p for p in parts if p) or "all"


@dataclass(frozen=True)
class KillSwitch:
    tenant: str  # a tenant id or "*"
    action_type: str  # an action type or "*"
    mode: str  # stop | pause
    reason: str
    set_by: str
    set_at: datetime

    @property
    def scope(self) -> str:
        return scope_name(self.tenant, self.action_type)

    def row(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "action_type": self.action_type, "mode": self.mode,
                "reason": self.reason, "set_by": self.set_by, "set_at": self.set_at.isoformat()}

    @classmethod
    def from_row(cls, row: Any) -> KillSwitch:
        m = row._mapping if hasattr(row, "_mapping") else row
        return cls(tenant=m["tenant"], action_type=m["action_type"], mode=m["mode"], reason=m["reason"],
                   set_by=m["set_by"], set_at=datetime.fromisoformat(m["set_at"]))


@dataclass(frozen=True)
class TenantBudget:
    tenant: str
    max_actions_per_day: int | None
    max_spend_per_day_cents: int | None
    set_by: str
    set_at: datetime

    @property
    def max_spend_per_day_usd(self) -> float | None:
        return None if self.max_spend_per_day_cents is None else self.max_spend_per_day_cents / 100

    def row(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "max_actions_per_day": self.max_actions_per_day,
                "max_spend_per_day_cents": self.max_spend_per_day_cents, "set_by": self.set_by,
                "set_at": self.set_at.isoformat()}

    @classmethod
    def from_row(cls, row: Any) -> TenantBudget:
        m = row._mapping if hasattr(row, "_mapping") else row
        return cls(tenant=m["tenant"], max_actions_per_day=m["max_actions_per_day"],
                   max_spend_per_day_cents=m["max_spend_per_day_cents"], set_by=m["set_by"],
                   set_at=datetime.fromisoformat(m["set_at"]))


@dataclass(frozen=True)
class BudgetUsage:
    tenant: str
    day: date
    actions: int
    spend_cents: int

    @property
    def spend_usd(self) -> float:
        return self.spend_cents / 100
