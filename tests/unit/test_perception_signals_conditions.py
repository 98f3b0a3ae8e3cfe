"""Condition signals on hand-built snapshots: each threshold's edge, one signal per episode, the cool-down."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import polars as pl
import pytest

from perception.condition_rules import ConditionHistory, condition_signals
from perception.contracts import Severity, Signal, SignalKind
from perception.normalize import NormalizedSnapshot
from perception.schemas import SCHEMAS
from perception.signals import detect_signals
from perception.thresholds import SignalThresholds

T = SignalThresholds()
DAY = date(2026, 3, 1)


def days_ago(n: int, today: date = DAY) -> date:
    return today - timedelta(days=n)


def table(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = SCHEMAS[name]
    return pl.DataFrame([{c: r.get(c) for c in schema} for r in rows], schema=schema)


def contact(cid: str, role: str = "user", status: str = "active") -> dict[str, Any]:
    return {"tenant": "acme", "contact_id": cid, "account_id": "a1", "name": f"Person {cid}", "role": role,
            "status": status}


def activity(n: int, on: date, direction: str, deal: str | None = "o1",
             kind: str = "email") -> dict[str, Any]:
    return {"tenant": "acme", "activity_id": f"act{n}", "account_id": "a1", "opportunity_id": deal,
            "type": kind, "direction": direction, "occurred_on": on}


def snapshot(today: date = DAY, *, stage: str = "discovery", stage_since: date | None = None,
             amount: float = 40_000.0, contacts: list[dict[str, Any]] | None = None,
             activities: list[dict[str, Any]] | None = None, renewal: date | None = None,
             arr: float = 120_000.0) -> NormalizedSnapshot:
    people = [contact("c1", "champion"), contact("c2", "economic_buyer")] if contacts is None else contacts
    touches = activities if activities is not None else [activity(1, days_ago(1, today), "outbound"),
                                                         activity(2, days_ago(2, today), "inbound")]
    return NormalizedSnapshot("acme", "demo", datetime.combine(today, time(23, 59, 59), tzinfo=UTC), {
        "accounts": table("accounts", [{"tenant": "acme", "account_id": "a1", "name": "Initech", "arr": arr,
                                        "seats_licensed": 100,
                                        "renewal_date": renewal or today + timedelta(days=200)}]),
        "contacts": table("contacts", people),
        "opportunities": table("opportunities", [{
            "tenant": "acme", "opportunity_id": "o1", "account_id": "a1", "name": "Initech expansion",
            "stage": stage, "amount": amount, "close_date": today + timedelta(days=60),
            "stage_changed_on": stage_since or days_ago(3, today)}]),
        "activities": table("activities", touches),
    })


def kinds(signals: list[Signal]) -> list[str]:
    return sorted(s.kind.value for s in signals)


def raised(current: NormalizedSnapshot, previous: NormalizedSnapshot | None = None,
           history: ConditionHistory | None = None, t: SignalThresholds = T) -> list[Signal]:
    return condition_signals(current, previous, t, history)


def test_a_healthy_deal_raises_nothing() -> None:
    assert raised(snapshot(), snapshot(DAY - timedelta(days=1))) == []


@pytest.mark.parametrize(("idle", "expected"), [(13, []), (14, ["no_activity"])])
def test_no_activity_from_the_last_inbound_or_outbound_activity(idle: int, expected: list[str]) -> None:
    acts = [activity(1, days_ago(idle), "outbound"), activity(2, days_ago(idle + 3), "inbound"),
            activity(3, days_ago(1), "internal", kind="note"),  # internal notes are not customer activity
            activity(4, days_ago(1), "inbound", deal=None)]  # nor is an account-level email
    assert kinds(raised(snapshot(activities=acts))) == expected


def test_no_activity_episode_starts_at_last_touch_plus_threshold_and_is_raised_once() -> None:
    acts = [activity(1, days_ago(20), "outbound"), activity(2, days_ago(20), "inbound")]
    day1, day2 = snapshot(DAY, activities=acts), snapshot(DAY + timedelta(days=1), activities=acts)
    [signal] = raised(day1)  # first sensing: what holds is raised
    assert signal.dedupe_key == f"acme|no_activity|o1|{days_ago(6).isoformat()}"
    assert signal.entity_type == "opportunity" and signal.evidence[0].before == days_ago(20).isoformat()
    assert raised(day2, day1) == []  # still holding: the same episode, nothing new


def test_ghosted_needs_the_outbound_touches_and_the_silence() -> None:
    silent = [activity(1, days_ago(10), "inbound"), activity(2, days_ago(7), "outbound"),
              activity(3, days_ago(2), "outbound")]
    [signal] = raised(snapshot(activities=silent))
    assert signal.kind is SignalKind.ghosted and "2 outbound touches" in signal.narrative
    # began when both held: 10 days after the reply, and on the 2nd touch
    assert signal.dedupe_key.endswith(f"|{DAY.isoformat()}")
    assert raised(snapshot(activities=silent[:2] + [activity(3, days_ago(2), "internal", kind="note")])) == []
    assert raised(snapshot(activities=[*silent[1:], activity(1, days_ago(9), "inbound")])) == []


def test_too_few_contacts_counts_active_people_on_open_deals_only() -> None:
    alone = [contact("c1", "champion"), contact("c2", "economic_buyer", "departed")]
    assert kinds(raised(snapshot(contacts=alone))) == ["too_few_contacts"]
    assert raised(snapshot(contacts=alone, stage="closed_won")) == []
    [nobody] = raised(snapshot(contacts=[]))
    assert nobody.severity is Severity.high and "0 active contact" in nobody.narrative


@pytest.mark.parametrize(("stage", "people", "expected"), [
    ("proposal", [contact("c1", "champion"), contact("c2")], ["no_economic_buyer"]),
    ("negotiation", [contact("c1", "champion"), contact("c2", "economic_buyer", "departed"), contact("c3")],
     ["no_economic_buyer"]),
    ("discovery", [contact("c1", "champion"), contact("c2")], []),
    ("proposal", [contact("c1", "champion"), contact("c2", "economic_buyer")], []),
])
def test_no_economic_buyer_late_in_the_cycle(stage: str, people: list[dict[str, Any]],
                                             expected: list[str]) -> None:
    assert kinds(raised(snapshot(stage=stage, contacts=people))) == expected


@pytest.mark.parametrize(("stage", "days_in_stage", "expected"), [
    ("qualification", 21, []), ("qualification", 22, ["stalled_in_stage"]),
    ("negotiation", 30, []), ("negotiation", 31, ["stalled_in_stage"]),
])
def test_stalled_in_stage_uses_the_stage_specific_limit(stage: str, days_in_stage: int,
                                                        expected: list[str]) -> None:
    people = [contact("c1", "champion"), contact("c2", "economic_buyer")]
    found = raised(snapshot(stage=stage, stage_since=days_ago(days_in_stage), contacts=people))
    assert kinds(found) == expected
    for signal in found:
        began = days_ago(days_in_stage) + timedelta(days=T.stall_days[stage] + 1)
        assert signal.dedupe_key.endswith(began.isoformat())


@pytest.mark.parametrize(("days_left", "arr", "expected"), [
    (61, 120_000.0, None), (60, 120_000.0, Severity.medium), (10, 400_000.0, Severity.high),
    (30, 10_000.0, Severity.low),
])
def test_renewal_approaching_within_the_window(days_left: int, arr: float, expected: Severity | None) -> None:
    found = raised(snapshot(renewal=DAY + timedelta(days=days_left), arr=arr))
    assert [s.severity for s in found] == ([expected] if expected else [])
    if found:
        assert found[0].entity_type == "account" and found[0].entity_id == "a1"


def test_a_condition_that_clears_and_returns_after_the_cool_down_raises_again() -> None:
    alone = [contact("c1", "champion")]
    pair = [contact("c1", "champion"), contact("c2")]
    history = ConditionHistory()
    days = [DAY + timedelta(days=i) for i in range(12)]
    # single-threaded on day 1, fixed on day 2, single-threaded again on day 4 (flapping) and on day 11
    people = {1: alone, 2: pair, 3: pair, 4: alone, 5: alone, 6: pair, 7: pair, 8: pair, 9: pair, 10: pair,
              11: alone}

    def day(i: int) -> NormalizedSnapshot:
        return snapshot(days[i], contacts=people.get(i, pair))

    out = [s for i in range(1, 12) for s in raised(day(i), day(i - 1), history)]
    assert [s.observed_at.date() for s in out] == [days[1], days[11]]
    # without a history every return is a new episode
    again = [s for i in range(1, 12) for s in raised(day(i), day(i - 1))]
    assert [s.observed_at.date() for s in again] == [days[1], days[4], days[11]]


def test_history_rebuilt_from_stored_signals_keeps_the_cool_down_and_allows_re_detection() -> None:
    alone = [contact("c1", "champion")]
    first = raised(snapshot(contacts=alone))
    history = ConditionHistory.from_signals(first)
    assert raised(snapshot(contacts=alone), history=history) == first  # the same episode again: same key
    back = DAY + timedelta(days=3)
    assert raised(snapshot(back, contacts=alone), snapshot(back - timedelta(days=1)), history) == []


def test_detect_signals_includes_conditions_and_every_signal_has_heat() -> None:
    previous = snapshot(DAY - timedelta(days=1))
    current = snapshot(contacts=[contact("c1", "champion")], renewal=DAY + timedelta(days=20))
    found = detect_signals(current, previous, [])
    assert kinds(found) == ["renewal_approaching", "too_few_contacts"]
    assert all(0 < s.heat <= 100 for s in found)


def test_a_snapshot_without_activities_or_stage_dates_raises_no_activity_conditions() -> None:
    bare = snapshot(activities=[])
    bare.tables["opportunities"] = bare.tables["opportunities"].with_columns(
        pl.lit(None, dtype=pl.Date).alias("stage_changed_on"))
    assert raised(bare) == []  # unknown is not "idle": nothing to measure from


def test_other_tenants_snapshot_is_refused() -> None:
    other = NormalizedSnapshot("globex", "demo", snapshot().pulled_at, snapshot().tables)
    with pytest.raises(ValueError, match="tenant"):
        raised(snapshot(), other)
