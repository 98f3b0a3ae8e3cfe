"""Ground truth of the condition kinds: which risky states hold in the world's own records on a day.

Evaluated on the simulator's state (not on the exports), independently of perception's rules. An
event is the day a condition becomes true for an entity (it did not hold the day before), unless the
same condition of the same entity was an event within CONDITION_COOL_DOWN_DAYS (flapping)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from connectors.demo.activities import engagement_by_deal
from connectors.demo.catalog import (
    CONDITION_COOL_DOWN_DAYS,
    GHOSTED_DAYS,
    GHOSTED_MIN_OUTBOUND,
    LATE_STAGES,
    MIN_ACTIVE_CONTACTS,
    NO_ACTIVITY_DAYS,
    OPEN_STAGES,
    RENEWAL_WINDOW_DAYS,
    STALL_DAYS,
    day_of,
    index_of,
)
from connectors.demo.events import GroundTruthEvent
from connectors.demo.state import Record


@dataclass(frozen=True)
class Condition:
    kind: str
    account_id: str
    entity_type: str
    entity_id: str
    details: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.kind}|{self.entity_id}"


def _outbound_since(activities: list[Record], deal: str, after: int) -> list[int]:
    return sorted(index_of(date.fromisoformat(a.data["occurred_on"])) for a in activities
                  if a.data.get("opportunity_id") == deal and a.data["direction"] == "outbound"
                  and index_of(date.fromisoformat(a.data["occurred_on"])) > after)


def _deal_conditions(found: list[Condition], opp: Record) -> Callable[..., None]:
    def hold(kind: str, **details: Any) -> None:
        found.append(Condition(kind, opp.data["account_id"], "opportunity", opp.record_id, details))
    return hold


def holding_conditions(records: dict[str, dict[str, Record]], day: int) -> dict[str, Condition]:
    """Every condition that holds at the end of ``day`` (index), keyed ``kind|entity_id``."""
    activities = list(records.get("activities", {}).values())
    engagement = engagement_by_deal(activities)
    active: dict[str, list[Record]] = {}
    for contact in records["contacts"].values():
        if contact.data["status"] == "active":
            active.setdefault(contact.data["account_id"], []).append(contact)
    found: list[Condition] = []
    for opp in records["opportunities"].values():
        d = opp.data
        if d["stage"] not in OPEN_STAGES:
            continue
        hold = _deal_conditions(found, opp)
        seen = engagement.get(opp.record_id)
        facing = [x for x in (seen.last_outbound, seen.last_inbound) if x is not None] if seen else []
        reference = max(facing) if facing else index_of(date.fromisoformat(d["stage_changed_on"]))
        if day - reference >= NO_ACTIVITY_DAYS:
            hold("no_activity", last_touch=day_of(reference).isoformat())
        if seen is not None and seen.last_inbound is not None and day - seen.last_inbound >= GHOSTED_DAYS:
            outbound = _outbound_since(activities, opp.record_id, seen.last_inbound)
            if len(outbound) >= GHOSTED_MIN_OUTBOUND:
                hold("ghosted", last_inbound=day_of(seen.last_inbound).isoformat(), outbound=len(outbound))
        people = active.get(d["account_id"], [])
        if len(people) < MIN_ACTIVE_CONTACTS:
            hold("too_few_contacts", active_contacts=len(people))
        if d["stage"] in LATE_STAGES and not any(c.data["role"] == "economic_buyer" for c in people):
            hold("no_economic_buyer", stage=d["stage"])
        in_stage = day - index_of(date.fromisoformat(d["stage_changed_on"]))
        if in_stage > STALL_DAYS[d["stage"]]:
            hold("stalled_in_stage", stage=d["stage"], since=d["stage_changed_on"])
    for account in records["accounts"].values():
        renewal = date.fromisoformat(account.data["renewal_date"])
        if 0 <= (renewal - day_of(day)).days <= RENEWAL_WINDOW_DAYS:
            found.append(Condition("renewal_approaching", account.record_id, "account", account.record_id,
                                   {"renewal_date": renewal.isoformat()}))
    return {c.key: c for c in found}


def condition_events(tenant: str, day: int, before: set[str], now: dict[str, Condition],
                     last_event_day: dict[str, int]) -> list[GroundTruthEvent]:
    """Conditions that became true on ``day``; ``last_event_day`` maps ``kind|entity_id`` to the day of
    that condition's previous event (for the cool-down) and is updated."""
    events = []
    for key in sorted(now.keys() - before):
        last = last_event_day.get(key)
        if last is not None and day - last < CONDITION_COOL_DOWN_DAYS:
            continue
        c = now[key]
        last_event_day[key] = day
        events.append(GroundTruthEvent(tenant=tenant, day=day_of(day), kind=c.kind, account_id=c.account_id,
                                       entity_type=c.entity_type, entity_id=c.entity_id, details=c.details))
    return events
