"""Kill switches and per-tenant daily budgets, in SQL so that they take effect without a deploy.

The policy stage reads :meth:`Controls.state` at every classification and passes it to Cedar as context;
after a decision is recorded it :meth:`Controls.charge`\\ s the tenant's day. Every change to a control is
appended to the ledger (kind ``policy.control_changed``: who, what, before/after, when); a global switch
goes to the ``_system`` chain, a tenant's to the tenant's own."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import Connection, Table, delete, func, insert, select

from decisioning.contracts import ActionType, PolicyDecision, PolicyOutcome, Proposal
from decisioning.policy_context import ControlState
from decisioning.policy_control_records import BudgetUsage, KillSwitch, TenantBudget, scope_name
from decisioning.policy_control_tables import ANY, budget_charges, budgets, kill_switches, metadata
from decisioning.policy_tenants import cents
from ledger.sql import READ_ONLY, make_engine
from ledger.store import Ledger

KillMode = Literal["stop", "pause"]
SYSTEM_TENANT = "_system"
CONTROL_CHANGED = "policy.control_changed"

__all__ = ["CONTROL_CHANGED", "SYSTEM_TENANT", "BudgetUsage", "Controls", "KillMode", "KillSwitch",
           "TenantBudget"]


def covering_switches(conn: Connection, tenant: str, action_type: str) -> list[KillSwitch]:
    """The kill switches that cover ``tenant``'s proposals of ``action_type``: everything, the tenant,
    the action type, or the tenant's action type. Classification reads them, and so does the executor
    inside its claim transaction (actions/authority.py)."""
    return [KillSwitch.from_row(r) for r in conn.execute(select(kill_switches).where(
        kill_switches.c.tenant.in_([tenant, ANY]), kill_switches.c.action_type.in_([str(action_type), ANY])))]


class Controls:
    """Kill switches, budgets and budget usage over ``ledger.sql.make_engine(url)``."""

    def __init__(self, url: str, ledger: Ledger, clock: Callable[[], datetime] | None = None) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)
        self.ledger = ledger
        self.clock = clock or (lambda: datetime.now(UTC))

    # --- reads ---------------------------------------------------------------------------------

    def state(self, tenant: str, action_type: str,
              exclude: tuple[str, int] | None = None) -> ControlState:
        """The controls in force for a proposal of ``tenant`` and ``action_type`` right now; usage is
        today's (UTC) without the charge of ``exclude`` (proposal id, version) itself."""
        today = self.clock().astimezone(UTC).date()
        with self._reader() as conn:
            switches = covering_switches(conn, tenant, action_type)
            budget = conn.execute(select(budgets).where(budgets.c.tenant == tenant)).first()
            used = self._usage(conn, tenant, today, exclude)
        return ControlState(
            killed_by=tuple(sorted(s.scope for s in switches if s.mode == "stop")),
            paused_by=tuple(sorted(s.scope for s in switches if s.mode == "pause")),
            max_actions_per_day=budget.max_actions_per_day if budget else None,
            max_spend_per_day_cents=budget.max_spend_per_day_cents if budget else None,
            actions_today=used.actions, spend_today_cents=used.spend_cents, day=today,
        )

    def kill_switches(self) -> list[KillSwitch]:
        with self._reader() as conn:
            rows = conn.execute(select(kill_switches).order_by(kill_switches.c.tenant,
                                                               kill_switches.c.action_type))
            return [KillSwitch.from_row(r) for r in rows]

    def budgets(self) -> list[TenantBudget]:
        with self._reader() as conn:
            rows = conn.execute(select(budgets).order_by(budgets.c.tenant))
            return [TenantBudget.from_row(r) for r in rows]

    def budget(self, tenant: str) -> TenantBudget | None:
        with self._reader() as conn:
            row = conn.execute(select(budgets).where(budgets.c.tenant == tenant)).first()
        return TenantBudget.from_row(row) if row else None

    def usage(self, tenant: str, day: date | None = None) -> BudgetUsage:
        with self._reader() as conn:
            return self._usage(conn, tenant, day or self.clock().astimezone(UTC).date(), None)

    # --- changes (each one ledgered) ------------------------------------------------------------

    def kill(self, *, by: str, reason: str, tenant: str | None = None, action_type: str | None = None,
             mode: KillMode = "stop") -> KillSwitch:
        """Set a switch: ``stop`` forbids everything it covers, ``pause`` lets nothing run without a
        human. No tenant and no action type means everything. Replaces a switch of the same scope."""
        if mode not in ("stop", "pause"):
            raise ValueError(f"kill switch mode must be 'stop' or 'pause', got {mode!r}")
        if not reason.strip():
            raise ValueError("say why the kill switch is set (reason); it goes to the ledger")
        key = self._key(tenant, action_type)
        switch = KillSwitch(tenant=key[0], action_type=key[1], mode=mode, reason=reason.strip(),
                            set_by=_who(by), set_at=self.clock())
        self._change(kill_switches, key, switch.row(), "kill_switch", by, reason)
        return switch

    def resume(self, *, by: str, reason: str = "", tenant: str | None = None,
               action_type: str | None = None) -> KillSwitch | None:
        """Lift the switch of exactly this scope; the switch lifted, or None if there was none."""
        key = self._key(tenant, action_type)
        before = self._change(kill_switches, key, None, "kill_switch", by, reason)
        return KillSwitch.from_row(before) if before else None

    def set_budget(self, tenant: str, *, by: str, max_actions_per_day: int | None,
                   max_spend_per_day_usd: float | None, reason: str = "") -> TenantBudget:
        """Set (replace) a tenant's daily budgets; None leaves that budget unlimited."""
        self._key(tenant, None)
        if max_actions_per_day is not None and max_actions_per_day < 0:
            raise ValueError(f"max_actions_per_day must be >= 0, got {max_actions_per_day}")
        if max_spend_per_day_usd is not None and not 0 <= max_spend_per_day_usd <= 1e12:
            raise ValueError(f"max_spend_per_day_usd must be between 0 and 1e12, got {max_spend_per_day_usd}")
        budget = TenantBudget(
            tenant=tenant, max_actions_per_day=max_actions_per_day,
            max_spend_per_day_cents=None if max_spend_per_day_usd is None else cents(max_spend_per_day_usd),
            set_by=_who(by), set_at=self.clock())
        self._change(budgets, (tenant,), budget.row(), "budget", by, reason)
        return budget

    def clear_budget(self, tenant: str, *, by: str, reason: str = "") -> TenantBudget | None:
        before = self._change(budgets, (tenant,), None, "budget", by, reason)
        return TenantBudget.from_row(before) if before else None

    # --- usage ---------------------------------------------------------------------------------

    def charge(self, decision: PolicyDecision, proposal: Proposal) -> None:
        """Count a recorded decision against its tenant's day (the UTC date it was decided): an
        automatic one uses one action; automatic or needs-approval reserves its cost estimate. Charging
        the same proposal version again replaces its charge."""
        allowed = not decision.errors and decision.outcome is not PolicyOutcome.forbidden
        actions = 1 if allowed and decision.outcome is PolicyOutcome.automatic else 0
        spend = cents(proposal.cost_estimate_usd) if allowed else 0
        key = (decision.proposal_id, decision.proposal_version)
        with self.engine.begin() as conn:
            conn.execute(delete(budget_charges).where(budget_charges.c.proposal_id == key[0],
                                                      budget_charges.c.proposal_version == key[1]))
            if actions or spend:
                conn.execute(insert(budget_charges).values(
                    proposal_id=key[0], proposal_version=key[1], tenant=decision.tenant,
                    day=decision.decided_at.astimezone(UTC).date().isoformat(), actions=actions,
                    spend_cents=spend, charged_at=self.clock().isoformat()))

    # --- helpers -------------------------------------------------------------------------------

    def _reader(self) -> Connection:
        return self.engine.connect().execution_options(**{READ_ONLY: True})

    @staticmethod
    def _usage(conn: Connection, tenant: str, day: date, exclude: tuple[str, int] | None) -> BudgetUsage:
        query = select(func.coalesce(func.sum(budget_charges.c.actions), 0),
                       func.coalesce(func.sum(budget_charges.c.spend_cents), 0)).where(
            budget_charges.c.tenant == tenant, budget_charges.c.day == day.isoformat())
        if exclude is not None:
            query = query.where(~((budget_charges.c.proposal_id == exclude[0])
                                  & (budget_charges.c.proposal_version == exclude[1])))
        actions, spend = conn.execute(query).one()
        return BudgetUsage(tenant=tenant, day=day, actions=int(actions), spend_cents=int(spend))

    @staticmethod
    def _key(tenant: str | None, action_type: str | None) -> tuple[str, str]:
        if tenant is not None and (not tenant.strip() or tenant in (ANY, SYSTEM_TENANT)):
            raise ValueError(f"{tenant!r} is not a tenant id")
        if action_type is not None:
            known = {t.value for t in ActionType}
            if action_type not in known:
                raise ValueError(f"unknown action type {action_type!r}; known: {', '.join(sorted(known))}")
        return (tenant or ANY, action_type or ANY)

    def _change(self, table: Table, key: tuple[str, ...], after: dict[str, Any] | None, control: str,
                by: str, reason: str) -> dict[str, Any] | None:
        """Replace (or delete, ``after=None``) the row at ``key``, then ledger the change; if the ledger
        refuses, the row is put back: no control changes unrecorded. Returns the row before."""
        who = _who(by)
        columns = list(table.primary_key.columns)
        where = [column == value for column, value in zip(columns, key, strict=True)]
        with self.engine.begin() as conn:
            found = conn.execute(select(table).where(*where)).first()
            before = dict(found._mapping) if found else None
            if before is None and after is None:
                return None
            _replace(conn, table, where, after)
        scope = dict(zip([c.name for c in columns], key, strict=True))
        tenant = scope.get("tenant", ANY)
        try:
            self.ledger.append(SYSTEM_TENANT if tenant == ANY else tenant, CONTROL_CHANGED, who, {
                "control": control, "change": "cleared" if after is None else "set",
                "scope": scope_name(tenant, scope.get("action_type", ANY)), **scope,
                "before": before, "after": after, "by": who, "reason": reason,
                "at": self.clock().isoformat()})
        except Exception:
            with self.engine.begin() as conn:
                _replace(conn, table, where, before)
            raise
        return before


def _replace(conn: Connection, table: Table, where: list[Any], row: dict[str, Any] | None) -> None:
    conn.execute(delete(table).where(*where))
    if row is not None:
        conn.execute(insert(table).values(**row))


def _who(by: str) -> str:
    if not by or not by.strip():
        raise ValueError("say who is changing the control (by): every change is ledgered with its author")
    return by.strip()
