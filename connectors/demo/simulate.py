"""One simulated day of one tenant: ground-truth events first, then ordinary CRM and usage noise.

Noise is kept clearly apart from events (close dates move at most 5 days, stages only move forward,
usage jitters by at most 12 %), and an entity touched by an event is left alone for a cool-off, so
every event stays unambiguous in consecutive daily exports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from connectors.demo.catalog import OPEN_STAGES, day_of
from connectors.demo.events import GroundTruthEvent
from connectors.demo.generate import UsageDynamics, new_contact, new_opportunity, owners_of
from connectors.demo.state import Record

ENTITY_COOL_OFF_DAYS = 14
USAGE_COOL_OFF_DAYS = 14


@dataclass
class DayContext:
    tenant: str
    day_index: int
    event_rate: float
    rng: np.random.Generator
    records: dict[str, dict[str, Record]]
    usage: UsageDynamics
    counters: dict[str, int]
    last_event_day: dict[str, int]  # "<entity_type>:<id>" or "usage:<account_id>" -> day index
    changed: dict[str, set[str]] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)
    _rows: dict[str, list[int]] | None = None

    @property
    def today(self) -> date:
        return day_of(self.day_index)

    def cooled(self, key: str, days: int) -> bool:
        last = self.last_event_day.get(key)
        return last is None or self.day_index - last >= days

    def change(self, object_: str, record: Record, **values: Any) -> None:
        record.data.update(values)
        record.version += 1
        self.changed.setdefault(object_, set()).add(record.record_id)

    def add(self, object_: str, record: Record) -> None:
        self.records[object_][record.record_id] = record
        self.changed.setdefault(object_, set()).add(record.record_id)


def _is_open(opp: Record) -> bool:
    return opp.data["stage"] in OPEN_STAGES


def _usage_rows(ctx: DayContext, account_id: str) -> np.ndarray:
    if ctx._rows is None:
        ctx._rows = {}
        for i, acc in enumerate(ctx.usage.account_id):
            ctx._rows.setdefault(acc, []).append(i)
    return np.array(ctx._rows.get(account_id, []), dtype=np.int64)


def _candidates(ctx: DayContext, account_id: str, by_account: dict[str, dict[str, list[Record]]]
                ) -> dict[str, list[Record] | None]:
    found: dict[str, list[Record] | None] = {}
    rows = _usage_rows(ctx, account_id)
    if ctx.cooled(f"usage:{account_id}", USAGE_COOL_OFF_DAYS):
        if ctx.usage.level[rows].min() >= 0.9:
            found["usage_drop"] = None
        if ctx.usage.seat_ratio[rows].max() < 0.85:
            found["expansion_intent"] = None
    mine = by_account.get(account_id, {})
    champions = [c for c in mine.get("contacts", []) if c.data["role"] == "champion"
                 and c.data["status"] == "active"
                 and ctx.cooled(f"contact:{c.record_id}", ENTITY_COOL_OFF_DAYS)]
    if champions:
        found["champion_departed"] = champions
    opps = [o for o in mine.get("opportunities", []) if _is_open(o)
            and ctx.cooled(f"opportunity:{o.record_id}", ENTITY_COOL_OFF_DAYS)
            and o.data["close_date"] > ctx.today.isoformat()]
    if opps:
        found["deal_slipped"] = opps
    regressable = [o for o in opps if OPEN_STAGES.index(o.data["stage"]) >= 1]
    if regressable:
        found["stage_regression"] = regressable
    return found


def inject_events(ctx: DayContext) -> list[GroundTruthEvent]:
    accounts = ctx.records["accounts"]
    ids = list(accounts)
    hits = np.flatnonzero(ctx.rng.random(len(ids)) < ctx.event_rate)
    if hits.size == 0:
        return []
    by_account: dict[str, dict[str, list[Record]]] = {}
    for object_ in ("contacts", "opportunities"):
        for rec in ctx.records[object_].values():
            by_account.setdefault(rec.account_id or "", {}).setdefault(object_, []).append(rec)
    out: list[GroundTruthEvent] = []
    for i in hits:
        account_id = ids[int(i)]
        found = _candidates(ctx, account_id, by_account)
        if not found:
            continue
        kinds = sorted(found)
        kind = kinds[int(ctx.rng.integers(len(kinds)))]
        entities = found[kind]
        entity = entities[int(ctx.rng.integers(len(entities)))] if entities else None
        out.append(_apply_event(ctx, kind, account_id, entity))
    return out


def _apply_event(ctx: DayContext, kind: str, account_id: str, entity: Record | None) -> GroundTruthEvent:
    rng = ctx.rng
    details: dict[str, Any]
    if kind in ("usage_drop", "expansion_intent"):
        rows = _usage_rows(ctx, account_id)
        if kind == "usage_drop":
            factor = float(rng.uniform(0.3, 0.4))
            ctx.usage.level[rows] *= factor
            details = {"usage_factor": round(factor, 3)}
        else:
            ratio = float(rng.uniform(0.98, 1.04))
            ctx.usage.seat_ratio[rows] = ratio
            ctx.usage.level[rows] *= float(rng.uniform(1.3, 1.5))
            details = {"seat_ratio": round(ratio, 3)}
        ctx.last_event_day[f"usage:{account_id}"] = ctx.day_index
        ctx.touched.add(f"account:{account_id}")
        return GroundTruthEvent(tenant=ctx.tenant, day=ctx.today, kind=kind, account_id=account_id,
                                entity_type="account", entity_id=account_id, details=details)
    assert entity is not None
    if kind == "champion_departed":
        ctx.change("contacts", entity, status="departed")
        entity_type = "contact"
        details = {"name": f"{entity.data['first_name']} {entity.data['last_name']}",
                   "title": entity.data["title"]}
    elif kind == "deal_slipped":
        before = entity.data["close_date"]
        slip = int(rng.integers(14, 61))
        after = (date.fromisoformat(before) + timedelta(days=slip)).isoformat()
        ctx.change("opportunities", entity, close_date=after)
        entity_type = "opportunity"
        details = {"close_date_before": before, "close_date_after": after, "slip_days": slip}
    else:
        before = entity.data["stage"]
        steps = int(rng.integers(1, OPEN_STAGES.index(before) + 1))
        after = OPEN_STAGES[OPEN_STAGES.index(before) - steps]
        ctx.change("opportunities", entity, stage=after)
        entity_type = "opportunity"
        details = {"stage_before": before, "stage_after": after}
    ctx.last_event_day[f"{entity_type}:{entity.record_id}"] = ctx.day_index
    ctx.touched.add(f"{entity_type}:{entity.record_id}")
    return GroundTruthEvent(tenant=ctx.tenant, day=ctx.today, kind=kind, account_id=account_id,
                            entity_type=entity_type, entity_id=entity.record_id, details=details)


def apply_crm_noise(ctx: DayContext) -> None:
    rng, today = ctx.rng, ctx.today
    accounts = ctx.records["accounts"]
    for opp in list(ctx.records["opportunities"].values()):
        if not _is_open(opp) or f"opportunity:{opp.record_id}" in ctx.touched:
            continue
        draw = rng.random()
        if opp.data["close_date"] <= today.isoformat():
            ctx.change("opportunities", opp, stage="closed_won" if draw < 0.6 else "closed_lost")
        elif draw < 0.02 and opp.data["stage"] != OPEN_STAGES[-1]:
            ctx.change("opportunities", opp, stage=OPEN_STAGES[OPEN_STAGES.index(opp.data["stage"]) + 1])
        elif draw < 0.04:
            amount = float(round(opp.data["amount"] * rng.uniform(0.85, 1.15), -2))
            ctx.change("opportunities", opp, amount=amount)
        elif draw < 0.05:
            shift = int(rng.choice([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5]))
            moved = date.fromisoformat(opp.data["close_date"]) + timedelta(days=shift)
            if moved > today:
                ctx.change("opportunities", opp, close_date=moved.isoformat())
    for contact in list(ctx.records["contacts"].values()):
        if f"contact:{contact.record_id}" in ctx.touched or contact.data["status"] != "active":
            continue
        draw = rng.random()
        if draw < 0.002:
            ctx.change("contacts", contact, title=f"Senior {contact.data['title'].removeprefix('Senior ')}")
        elif draw < 0.003 and contact.data["role"] != "champion":
            ctx.change("contacts", contact, status="departed")
    owners = owners_of(ctx.tenant)
    for account in accounts.values():
        draw = rng.random()
        if account.data["renewal_date"] <= today.isoformat():
            renewed = date.fromisoformat(account.data["renewal_date"]) + timedelta(days=365)
            ctx.change("accounts", account, renewal_date=renewed.isoformat(),
                       arr=float(round(account.data["arr"] * rng.uniform(0.95, 1.12), -2)))
        elif draw < 0.001:
            ctx.change("accounts", account, owner_email=owners[int(rng.integers(len(owners)))])
        elif draw < 0.003:
            role = "champion" if rng.random() < 0.3 else "user"
            ctx.add("contacts", new_contact(rng, ctx.tenant, _next(ctx, "contacts"), account, role))
        elif draw < 0.006:
            ctx.add("opportunities", new_opportunity(rng, ctx.tenant, _next(ctx, "opportunities"), account,
                                                     ctx.day_index, OPEN_STAGES[0]))


def _next(ctx: DayContext, object_: str) -> int:
    n = ctx.counters[object_]
    ctx.counters[object_] = n + 1
    return n


def draw_usage(ctx: DayContext) -> tuple[np.ndarray, np.ndarray]:
    """Today's active users and seats used per account x product row of ``ctx.usage``."""
    seats_by_account = {rid: rec.data["seats_licensed"] for rid, rec in ctx.records["accounts"].items()}
    seats = np.array([seats_by_account[a] for a in ctx.usage.account_id], dtype=float)
    n = seats.size
    jitter = np.clip(ctx.rng.normal(0, 0.05, n), -0.12, 0.12)
    active = np.round(ctx.usage.base_active * ctx.usage.level * (1 + jitter))
    seat_jitter = np.clip(ctx.rng.normal(0, 0.005, n), -0.01, 0.01)
    seats_used = np.round(seats * ctx.usage.seat_ratio * (1 + seat_jitter))
    return active.astype(np.int64), seats_used.astype(np.int64)
