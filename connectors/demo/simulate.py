"""One simulated day of one tenant: the day's context, ordinary CRM noise and usage draws.

Noise is kept clearly apart from events (injections.py) and below every signal threshold: close dates
move at most 5 days, amounts at most 15 %, seats licensed -3 % .. +5 %, stages only move forward,
usage jitters by at most 12 %. Non-champion contacts may leave and new contacts and deals appear; the
conditions that follows from those (too few contacts, no economic buyer) are ground truth too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from connectors.demo.catalog import OPEN_STAGES, day_of
from connectors.demo.generate import UsageDynamics, new_contact, new_opportunity, owners_of
from connectors.demo.state import Record

SEAT_TRUE_UP_CHANCE = 0.004  # per account and day: seats licensed move by -3 % .. +5 %


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
        if object_ == "opportunities" and "stage" in values and values["stage"] != record.data["stage"]:
            values.setdefault("stage_changed_on", self.today.isoformat())  # the CRM's LastStageChangeDate
        record.data.update(values)
        record.version += 1
        self.changed.setdefault(object_, set()).add(record.record_id)

    def add(self, object_: str, record: Record) -> None:
        self.records[object_][record.record_id] = record
        self.changed.setdefault(object_, set()).add(record.record_id)


def is_open(opp: Record) -> bool:
    return opp.data["stage"] in OPEN_STAGES


def usage_rows(ctx: DayContext, account_id: str) -> np.ndarray:
    if ctx._rows is None:
        ctx._rows = {}
        for i, acc in enumerate(ctx.usage.account_id):
            ctx._rows.setdefault(acc, []).append(i)
    return np.array(ctx._rows.get(account_id, []), dtype=np.int64)


def apply_crm_noise(ctx: DayContext) -> None:
    rng, today = ctx.rng, ctx.today
    accounts = ctx.records["accounts"]
    for opp in list(ctx.records["opportunities"].values()):
        if not is_open(opp) or f"opportunity:{opp.record_id}" in ctx.touched:
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
        elif draw < 0.006 + SEAT_TRUE_UP_CHANCE and f"account:{account.record_id}" not in ctx.touched:
            _true_up(ctx, account)


def _true_up(ctx: DayContext, account: Record) -> None:
    before = int(account.data["seats_licensed"])
    after = max(1, int(round(before * ctx.rng.uniform(0.97, 1.05))))
    if after != before:
        ctx.change("accounts", account, seats_licensed=after,
                   arr=float(round(account.data["arr"] * after / before, -2)))


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
