"""CRM rules: field changes (from a snapshot diff or a webhook event) that mean something for a deal.

A rule may need facts the change does not carry (is this contact a champion? is the deal still open?
how big is it?). Those come from a RecordContext built from the current (and previous) snapshot; a
webhook without one still raises slips and regressions, but cannot know a departed contact's role."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl

from perception.contracts import ChangeType, Evidence, FieldChange, Severity, Signal, SignalKind
from perception.heat import heat_score
from perception.normalize import NormalizedSnapshot
from perception.schemas import KEYS, OPEN_STAGES
from perception.thresholds import SignalThresholds
from perception.value_rules import amount_reduced, seat_contraction


@dataclass
class RecordContext:
    """Current facts about the records a batch of changes touches (object -> id -> row)."""

    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    active_champions: dict[str, int] = field(default_factory=dict)  # account_id -> count

    def get(self, object_: str, entity_id: str) -> dict[str, Any]:
        return self.rows.get(object_, {}).get(entity_id, {})

    @classmethod
    def from_snapshots(cls, changes: Iterable[FieldChange], current: NormalizedSnapshot | None,
                       previous: NormalizedSnapshot | None = None) -> RecordContext:
        wanted: dict[str, set[str]] = {}
        for change in changes:
            wanted.setdefault(change.object, set()).add(change.entity_id)
            if change.account_id:
                wanted.setdefault("accounts", set()).add(change.account_id)
        ctx = cls()
        for snapshot in (previous, current):  # current last: it wins
            if snapshot is None:
                continue
            for object_, ids in wanted.items():
                if object_ not in KEYS:
                    continue
                key = KEYS[object_]
                table = snapshot.table(object_).filter(pl.col(key).is_in(list(ids)))
                for row in table.to_dicts():
                    ctx.rows.setdefault(object_, {})[row[key]] = row
        if current is not None:
            contacts = current.table("contacts")
            accounts = list(wanted.get("accounts", set()))
            counts = contacts.filter(pl.col("account_id").is_in(accounts) & (pl.col("role") == "champion")
                                     & (pl.col("status") == "active")).group_by("account_id").len()
            ctx.active_champions = {r["account_id"]: r["len"] for r in counts.to_dicts()}
        return ctx


def _account_name(ctx: RecordContext, account_id: str) -> str:
    return ctx.get("accounts", account_id).get("name") or account_id


def _amount(ctx: RecordContext, opp_id: str) -> float:
    return float(ctx.get("opportunities", opp_id).get("amount") or 0.0)


def _arr(ctx: RecordContext, account_id: str) -> float:
    return float(ctx.get("accounts", account_id).get("arr") or 0.0)


def crm_signals(tenant: str, source: str, observed_at: datetime, changes: list[FieldChange],
                ctx: RecordContext, t: SignalThresholds) -> list[Signal]:
    by_entity: dict[tuple[str, str], dict[str, FieldChange]] = {}
    for change in changes:
        if change.change is ChangeType.changed and change.field is not None and change.tenant == tenant:
            by_entity.setdefault((change.object, change.entity_id), {})[change.field] = change
    signals: list[Signal] = []
    for (object_, entity_id), fields in sorted(by_entity.items()):
        account_id = next((c.account_id for c in fields.values() if c.account_id), None) \
            or ctx.get(object_, entity_id).get("account_id")
        if not account_id:
            continue
        base = {"tenant": tenant, "account_id": account_id, "entity_id": entity_id,
                "observed_at": observed_at, "source": source}
        if object_ == "contacts" and "status" in fields:
            signals.extend(_champion(base, fields, ctx))
        if object_ == "accounts" and "seats_licensed" in fields:
            signals.extend(seat_contraction(base, fields["seats_licensed"], _arr(ctx, account_id),
                                            _account_name(ctx, account_id), t))
        if object_ == "opportunities":
            stage_now = fields["stage"].after if "stage" in fields else \
                ctx.get("opportunities", entity_id).get("stage")
            still_open = stage_now is None or stage_now in OPEN_STAGES
            if "close_date" in fields and still_open:
                signals.extend(_slip(base, fields["close_date"], ctx, t))
            if "stage" in fields:
                signals.extend(_regression(base, fields["stage"], ctx, t))
            if "amount" in fields and still_open:
                deal = ctx.get("opportunities", entity_id).get("name") or entity_id
                account = _account_name(ctx, account_id)
                signals.extend(amount_reduced(base, fields["amount"], deal, account, t))
    return [s.model_copy(update={"heat": heat_score(s.severity, _stake(s, ctx), t)}) for s in signals]


def _stake(signal: Signal, ctx: RecordContext) -> float:
    """The money a change puts at risk: the deal's amount (before a cut), else the account's ARR."""
    if signal.kind is SignalKind.amount_reduced:
        return float(signal.evidence[0].before or 0.0)
    if signal.entity_type == "opportunity":
        return _amount(ctx, signal.entity_id)
    return _arr(ctx, signal.account_id)


def _champion(base: dict[str, Any], fields: dict[str, FieldChange], ctx: RecordContext) -> list[Signal]:
    status = fields["status"]
    if status.after != "departed" or status.before == "departed":
        return []
    row = ctx.get("contacts", base["entity_id"])
    role = fields["role"].before if "role" in fields else row.get("role")
    if role != "champion":
        return []
    others = ctx.active_champions.get(base["account_id"], 0)
    who = row.get("name") or base["entity_id"]
    title = f" ({row['title']})" if row.get("title") else ""
    left = "no active champion remains" if others == 0 else f"{others} other champion(s) remain"
    return [Signal(**base, entity_type="contact", kind=SignalKind.champion_departed,
                   severity=Severity.high if others == 0 else Severity.medium,
                   evidence=[Evidence(object="contacts", entity_id=base["entity_id"], field="status",
                                      before=status.before, after=status.after, note=f"role: {role}")],
                   dedupe_key=f"{base['tenant']}|champion_departed|{base['entity_id']}",
                   narrative=f"Champion {who}{title} has left {_account_name(ctx, base['account_id'])}; "
                             f"{left}.")]


def _as_date(value: Any) -> date | None:
    try:
        return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _slip(base: dict[str, Any], change: FieldChange, ctx: RecordContext, t: SignalThresholds) -> list[Signal]:
    before, after = _as_date(change.before), _as_date(change.after)
    if before is None or after is None or (after - before).days < t.slip_min_days:
        return []
    days = (after - before).days
    amount = _amount(ctx, base["entity_id"])
    if days >= t.slip_high_days or amount >= t.high_value_amount:
        severity = Severity.high
    else:
        severity = Severity.medium if days >= t.slip_medium_days else Severity.low
    name = ctx.get("opportunities", base["entity_id"]).get("name") or base["entity_id"]
    return [Signal(**base, entity_type="opportunity", kind=SignalKind.deal_slipped, severity=severity,
                   evidence=[Evidence(object="opportunities", entity_id=base["entity_id"], field="close_date",
                                      before=before.isoformat(), after=after.isoformat(),
                                      note=f"slipped {days} days")],
                   dedupe_key=f"{base['tenant']}|deal_slipped|{base['entity_id']}|{after.isoformat()}",
                   narrative=f"Deal {name} at {_account_name(ctx, base['account_id'])} slipped {days} days: "
                             f"close date moved from {before.isoformat()} to {after.isoformat()}.")]


def _regression(base: dict[str, Any], change: FieldChange, ctx: RecordContext, t: SignalThresholds
                ) -> list[Signal]:
    before, after = change.before, change.after
    if before not in OPEN_STAGES or after not in OPEN_STAGES:
        return []
    steps = OPEN_STAGES.index(before) - OPEN_STAGES.index(after)
    if steps <= 0:
        return []
    amount = _amount(ctx, base["entity_id"])
    high = steps >= t.regression_high_steps or amount >= t.high_value_amount
    name = ctx.get("opportunities", base["entity_id"]).get("name") or base["entity_id"]
    day = base["observed_at"].date().isoformat()
    return [Signal(**base, entity_type="opportunity", kind=SignalKind.stage_regression,
                   severity=Severity.high if high else Severity.medium,
                   evidence=[Evidence(object="opportunities", entity_id=base["entity_id"], field="stage",
                                      before=before, after=after, note=f"back {steps} stage(s)")],
                   dedupe_key=f"{base['tenant']}|stage_regression|{base['entity_id']}|{before}>{after}|{day}",
                   narrative=f"Deal {name} at {_account_name(ctx, base['account_id'])} moved back from "
                             f"{before} to {after}.")]
