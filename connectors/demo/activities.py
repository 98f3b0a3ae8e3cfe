"""Engagement: the notes, emails, calls and meetings logged against each account and open deal per day.

A healthy deal (engagement "normal") gets an outbound touch at least every TOUCH_MAX_GAP_DAYS and an
inbound reply at least every REPLY_MAX_GAP_DAYS, so it never looks idle or ghosted. A "ghosting" deal
keeps its outbound touches but hears nothing back; a "dark" deal gets no customer-facing activity at
all. Internal notes (on any deal, dark ones too) and account-level activities are noise: the deal
conditions only count inbound/outbound activities tied to the deal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np

from connectors.demo.catalog import OPEN_STAGES, REPLY_MAX_GAP_DAYS, TOUCH_MAX_GAP_DAYS, day_of, index_of
from connectors.demo.state import Record

TOUCH_CHANCE = 0.3  # per day, before the gap forces one
REPLY_CHANCE = 0.15
INTERNAL_NOTE_CHANCE = 0.08
ACCOUNT_ACTIVITY_CHANCE = 0.03

_OUTBOUND = (("email", "Following up on {deal}"), ("call", "Call about {deal}"),
             ("meeting", "{deal} review"))
_INBOUND = (("email", "Re: {deal}"), ("meeting", "{deal}: customer call"),
            ("call", "Customer called about {deal}"))


@dataclass
class DealEngagement:
    """The newest outbound and inbound activity day (indices) of one deal."""

    last_outbound: int | None = None
    last_inbound: int | None = None


def engagement_by_deal(activities: Iterable[Record]) -> dict[str, DealEngagement]:
    found: dict[str, DealEngagement] = {}
    for activity in activities:
        deal = activity.data.get("opportunity_id")
        if deal is None:
            continue
        day = index_of(date.fromisoformat(activity.data["occurred_on"]))
        seen = found.setdefault(deal, DealEngagement())
        direction = activity.data["direction"]
        if direction == "outbound" and (seen.last_outbound is None or day > seen.last_outbound):
            seen.last_outbound = day
        elif direction == "inbound" and (seen.last_inbound is None or day > seen.last_inbound):
            seen.last_inbound = day
    return found


def _due(last: int | None, day: int, max_gap: int, draw: float, chance: float) -> bool:
    return last is None or day - last >= max_gap or draw < chance


def log_activities(tenant: str, day: int, rng: np.random.Generator, records: dict[str, dict[str, Record]],
                   counters: dict[str, int]) -> list[Record]:
    """The activities of one tenant-day (added to ``records["activities"]`` and returned)."""
    activities = records.setdefault("activities", {})
    engagement = engagement_by_deal(activities.values())
    active: dict[str, list[str]] = {}
    for contact in records["contacts"].values():
        if contact.data["status"] == "active":
            active.setdefault(contact.data["account_id"], []).append(contact.record_id)
    new: list[Record] = []

    def log(account_id: str, deal: str | None, kind: str, direction: str, subject: str) -> None:
        people = active.get(account_id, [])
        who = people[int(rng.integers(len(people)))] if people and direction != "internal" else None
        n = counters.get("activities", 0)
        counters["activities"] = n + 1
        record = Record(f"{tenant}-act-{n:06d}", account_id, 1, {
            "account_id": account_id, "opportunity_id": deal, "contact_id": who, "type": kind,
            "direction": direction, "subject": subject, "occurred_on": day_of(day).isoformat()})
        activities[record.record_id] = record
        new.append(record)

    for opp in records["opportunities"].values():
        if opp.data["stage"] not in OPEN_STAGES:
            continue
        draws = rng.random(4)
        seen = engagement.get(opp.record_id, DealEngagement())
        mode = opp.data.get("engagement", "normal")
        name, account_id = opp.data["name"], opp.data["account_id"]
        if mode != "dark" and _due(seen.last_outbound, day, TOUCH_MAX_GAP_DAYS, draws[0], TOUCH_CHANCE):
            kind, subject = _OUTBOUND[int(draws[3] * len(_OUTBOUND))]
            log(account_id, opp.record_id, kind, "outbound", subject.format(deal=name))
        if mode == "normal" and _due(seen.last_inbound, day, REPLY_MAX_GAP_DAYS, draws[1], REPLY_CHANCE):
            kind, subject = _INBOUND[int(draws[3] * len(_INBOUND))]
            log(account_id, opp.record_id, kind, "inbound", subject.format(deal=name))
        if draws[2] < INTERNAL_NOTE_CHANCE:
            log(account_id, opp.record_id, "note", "internal", f"Internal: next steps on {name}")
    for account in records["accounts"].values():
        if rng.random() < ACCOUNT_ACTIVITY_CHANCE:
            if rng.random() < 0.5:
                log(account.record_id, None, "email", "inbound", "Support question")
            else:
                log(account.record_id, None, "task", "internal", "Update account plan")
    return new


def expired_activities(activities: dict[str, Record], day: int, window_days: int) -> list[str]:
    """Ids of activities older than the trailing window (the world forgets them)."""
    oldest = day_of(day - window_days + 1).isoformat()
    return [rid for rid, a in activities.items() if a.data["occurred_on"] < oldest]
