"""Injected events: each day a few accounts get one thing happening to them, drawn from what fits.

Change events (usage drop, expansion, champion leaves, slip, regression, seat cut, amount cut) are
ground truth the day they happen. Scenarios (a deal goes dark or starts ghosting, contacts or the
economic buyer leave) are causes, not truth: the condition they lead to becomes ground truth on the
day it holds (conditions.py). Sizes are far from the noise (simulate.apply_crm_noise), and an entity
touched by an event is left alone for a cool-off, so every event is unambiguous in the exports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np

from connectors.demo.catalog import LATE_STAGES, OPEN_STAGES
from connectors.demo.events import GroundTruthEvent
from connectors.demo.simulate import DayContext, is_open, usage_rows
from connectors.demo.state import Record

ENTITY_COOL_OFF_DAYS = 14
USAGE_COOL_OFF_DAYS = 14
QUIET_DEAL_MIN_DAYS_TO_CLOSE = 21  # a deal that goes quiet stays open long enough for it to show
SCENARIOS: tuple[str, ...] = ("goes_dark", "starts_ghosting", "contacts_leave", "economic_buyer_leaves")

Found = dict[str, list[Record] | None]


def _contact_candidates(ctx: DayContext, mine: dict[str, list[Record]], found: Found) -> None:
    active = [c for c in mine.get("contacts", []) if c.data["status"] == "active"]
    cooled = all(ctx.cooled(f"contact:{c.record_id}", ENTITY_COOL_OFF_DAYS) for c in active)
    champions = [c for c in active if c.data["role"] == "champion"
                 and ctx.cooled(f"contact:{c.record_id}", ENTITY_COOL_OFF_DAYS)]
    if champions:
        found["champion_departed"] = champions
    open_deals = [o for o in mine.get("opportunities", []) if is_open(o)]
    if not open_deals or not cooled:
        return
    n_champions = sum(c.data["role"] == "champion" for c in active)
    if len(active) >= 2 and n_champions <= 1:  # leaving one keeper, never a champion
        found["contacts_leave"] = None
    if any(o.data["stage"] in LATE_STAGES for o in open_deals) \
            and any(c.data["role"] == "economic_buyer" for c in active):
        found["economic_buyer_leaves"] = None


def _candidates(ctx: DayContext, account_id: str, by_account: dict[str, dict[str, list[Record]]]) -> Found:
    found: Found = {}
    rows = usage_rows(ctx, account_id)
    # seats licensed are the denominator of the expansion rule: keep seat cuts and usage events apart
    if ctx.cooled(f"usage:{account_id}", USAGE_COOL_OFF_DAYS) \
            and ctx.cooled(f"account:{account_id}", ENTITY_COOL_OFF_DAYS):
        found["seat_contraction"] = None
        if ctx.usage.level[rows].min() >= 0.9:
            found["usage_drop"] = None
        if ctx.usage.seat_ratio[rows].max() < 0.85:
            found["expansion_intent"] = None
    mine = by_account.get(account_id, {})
    _contact_candidates(ctx, mine, found)
    today = ctx.today.isoformat()
    opps = [o for o in mine.get("opportunities", []) if is_open(o) and o.data["close_date"] > today
            and ctx.cooled(f"opportunity:{o.record_id}", ENTITY_COOL_OFF_DAYS)]
    if opps:
        found["deal_slipped"] = opps
        found["amount_reduced"] = opps
    regressable = [o for o in opps if OPEN_STAGES.index(o.data["stage"]) >= 1]
    if regressable:
        found["stage_regression"] = regressable
    later = (ctx.today + timedelta(days=QUIET_DEAL_MIN_DAYS_TO_CLOSE)).isoformat()
    quiet = [o for o in opps if o.data.get("engagement", "normal") == "normal"
             and o.data["close_date"] > later]
    if quiet:
        found["goes_dark"] = quiet
        found["starts_ghosting"] = quiet
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
        if kind in SCENARIOS:
            _apply_scenario(ctx, kind, account_id, by_account.get(account_id, {}), entity)
        else:
            out.append(_apply_event(ctx, kind, account_id, entity))
    return out


def _apply_scenario(ctx: DayContext, kind: str, account_id: str, mine: dict[str, list[Record]],
                    deal: Record | None) -> None:
    if deal is not None:
        ctx.change("opportunities", deal, engagement="dark" if kind == "goes_dark" else "ghosting")
        ctx.last_event_day[f"opportunity:{deal.record_id}"] = ctx.day_index
        ctx.touched.add(f"opportunity:{deal.record_id}")
        return
    active = [c for c in mine.get("contacts", []) if c.data["status"] == "active"]
    if kind == "contacts_leave":
        keeper = next((c for c in active if c.data["role"] == "champion"), active[0])
        leaving = [c for c in active if c is not keeper]
    else:
        leaving = [c for c in active if c.data["role"] == "economic_buyer"]
    for contact in leaving:
        ctx.change("contacts", contact, status="departed")
        ctx.last_event_day[f"contact:{contact.record_id}"] = ctx.day_index
        ctx.touched.add(f"contact:{contact.record_id}")


def _usage_event(ctx: DayContext, kind: str, account_id: str) -> dict[str, Any]:
    rng, rows = ctx.rng, usage_rows(ctx, account_id)
    ctx.last_event_day[f"usage:{account_id}"] = ctx.day_index
    ctx.touched.add(f"account:{account_id}")
    if kind == "usage_drop":
        factor = float(rng.uniform(0.3, 0.4))
        ctx.usage.level[rows] *= factor
        return {"usage_factor": round(factor, 3)}
    ratio = float(rng.uniform(0.98, 1.04))
    ctx.usage.seat_ratio[rows] = ratio
    ctx.usage.level[rows] *= float(rng.uniform(1.3, 1.5))
    return {"seat_ratio": round(ratio, 3)}


def _seat_cut(ctx: DayContext, account: Record) -> dict[str, Any]:
    before = int(account.data["seats_licensed"])
    after = max(1, int(round(before * ctx.rng.uniform(0.55, 0.8))))
    arr = float(round(account.data["arr"] * after / before, -2))
    ctx.change("accounts", account, seats_licensed=after, arr=arr)
    ctx.last_event_day[f"account:{account.record_id}"] = ctx.day_index
    ctx.touched.add(f"account:{account.record_id}")
    return {"seats_before": before, "seats_after": after}


def _deal_event(ctx: DayContext, kind: str, deal: Record) -> dict[str, Any]:
    rng, d = ctx.rng, deal.data
    if kind == "deal_slipped":
        before, slip = d["close_date"], int(rng.integers(14, 61))
        after = (date.fromisoformat(before) + timedelta(days=slip)).isoformat()
        ctx.change("opportunities", deal, close_date=after)
        return {"close_date_before": before, "close_date_after": after, "slip_days": slip}
    if kind == "amount_reduced":
        before_amount = float(d["amount"])
        after_amount = float(round(before_amount * rng.uniform(0.4, 0.7), -2))
        ctx.change("opportunities", deal, amount=after_amount)
        return {"amount_before": before_amount, "amount_after": after_amount}
    before = d["stage"]
    steps = int(rng.integers(1, OPEN_STAGES.index(before) + 1))
    after = OPEN_STAGES[OPEN_STAGES.index(before) - steps]
    ctx.change("opportunities", deal, stage=after)
    return {"stage_before": before, "stage_after": after}


def _apply_event(ctx: DayContext, kind: str, account_id: str, entity: Record | None) -> GroundTruthEvent:
    def event(entity_type: str, entity_id: str, details: dict[str, Any]) -> GroundTruthEvent:
        return GroundTruthEvent(tenant=ctx.tenant, day=ctx.today, kind=kind, account_id=account_id,
                                entity_type=entity_type, entity_id=entity_id, details=details)

    if kind in ("usage_drop", "expansion_intent"):
        return event("account", account_id, _usage_event(ctx, kind, account_id))
    if kind == "seat_contraction":
        return event("account", account_id, _seat_cut(ctx, ctx.records["accounts"][account_id]))
    assert entity is not None
    if kind == "champion_departed":
        ctx.change("contacts", entity, status="departed")
        entity_type = "contact"
        details = {"name": f"{entity.data['first_name']} {entity.data['last_name']}",
                   "title": entity.data["title"]}
    else:
        entity_type = "opportunity"
        details = _deal_event(ctx, kind, entity)
    ctx.last_event_day[f"{entity_type}:{entity.record_id}"] = ctx.day_index
    ctx.touched.add(f"{entity_type}:{entity.record_id}")
    return event(entity_type, entity.record_id, details)
