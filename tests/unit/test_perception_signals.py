"""Signals against the demo world's ground truth, dedupe through the store, and webhook change events."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.demo.connector import DemoConnector
from connectors.demo.events import GroundTruthEvent
from connectors.demo.world import DemoWorld
from perception.contracts import Severity, Signal, SignalKind
from perception.diff import diff_snapshots
from perception.normalize import NormalizedSnapshot, normalize
from perception.scoring import format_scores, score_signals
from perception.signal_store import SignalStore
from perception.signals import (
    UnsupportedEvent,
    changes_from_webhook_event,
    detect_signals,
    signals_from_changes,
)


class WorldRun:
    def __init__(self, root: Path) -> None:
        self.world = DemoWorld.create(root, ["acme", "globex"], 60, 11, 0.04)
        connector = DemoConnector(root)
        self.snapshots: dict[str, list[NormalizedSnapshot]] = {
            t: [normalize(connector.pull(t))] for t in self.world.tenants}
        self.per_day: list[list[Signal]] = []
        for _ in range(20):
            self.world.advance_day()
            today = []
            for tenant in self.world.tenants:
                previous = self.snapshots[tenant][-1]
                current = normalize(connector.pull(tenant))
                today += detect_signals(current, previous, diff_snapshots(previous, current))
                self.snapshots[tenant].append(current)
            self.per_day.append(today)

    @property
    def signals(self) -> list[Signal]:
        return [s for day in self.per_day for s in day]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> WorldRun:
    return WorldRun(tmp_path_factory.mktemp("world"))


def test_signals_match_ground_truth_for_every_kind(run: WorldRun) -> None:
    truth = run.world.ground_truth()
    per_kind = Counter(e.kind for e in truth)
    assert all(per_kind[k.value] >= 3 for k in SignalKind), per_kind
    scores = score_signals(run.signals, truth)
    report = format_scores(scores)
    for kind in SignalKind:
        assert scores[kind.value].precision >= 0.95, report
        assert scores[kind.value].recall >= 0.95, report


def test_every_signal_carries_evidence_narrative_and_key(run: WorldRun) -> None:
    for s in run.signals:
        assert s.evidence and s.narrative and s.dedupe_key.startswith(f"{s.tenant}|{s.kind.value}|")
        assert s.observed_at.tzinfo is not None and s.source == "demo"


def test_detection_twice_stores_each_condition_once(run: WorldRun, tmp_path: Path) -> None:
    store = SignalStore(f"sqlite:///{tmp_path / 'signals.sqlite'}")
    first = [s for day in run.per_day for s in store.add_new(day)]
    again = [s for day in run.per_day for s in store.add_new(day)]
    assert first and again == []
    # usage conditions persist for days; the onset day in the key keeps them single
    assert len(first) == len({s.signal_id for s in run.signals})
    assert len(first) == len(run.world.ground_truth())


def test_score_counts_misses_and_false_alarms() -> None:
    at = datetime(2026, 1, 5, 23, 59, 59, tzinfo=UTC)
    event = GroundTruthEvent(tenant="t", day=at.date(), kind="deal_slipped", account_id="a",
                             entity_type="opportunity", entity_id="o1")
    wrong = signals_from_changes("t", "demo", at, changes_from_webhook_event("t", {
        "type": "crm.record.changed", "object": "opportunities", "record_id": "o2", "account_id": "a",
        "changes": {"close_date": {"before": "2026-03-01", "after": "2026-04-01"}}}))
    scores = score_signals(wrong, [event])
    assert (scores["deal_slipped"].tp, scores["deal_slipped"].fp, scores["deal_slipped"].fn) == (0, 1, 1)
    assert scores["deal_slipped"].precision == 0.0 and scores["usage_drop"].recall == 1.0


AT = datetime(2026, 2, 1, 10, tzinfo=UTC)


def test_webhook_stage_regression_becomes_a_signal() -> None:
    event = {"type": "crm.record.changed", "object": "opportunities", "record_id": "o9", "account_id": "a3",
             "changes": {"StageName": {"before": "Negotiation/Review", "after": "Discovery"}}}
    changes = changes_from_webhook_event("acme", event)
    assert [(c.field, c.before, c.after) for c in changes] == [("stage", "negotiation", "discovery")]
    [signal] = signals_from_changes("acme", "webhook", AT, changes)
    assert signal.kind is SignalKind.stage_regression and signal.severity is Severity.high
    assert (signal.account_id, signal.entity_id, signal.entity_type) == ("a3", "o9", "opportunity")
    assert signal.evidence[0].before == "negotiation" and "moved back" in signal.narrative


def test_webhook_slip_below_threshold_and_forward_moves_raise_nothing() -> None:
    event = {"type": "crm.record.changed", "object": "opportunities", "record_id": "o9", "account_id": "a3",
             "changes": {"close_date": {"before": "2026-03-01", "after": "2026-03-04"},
                         "stage": {"before": "discovery", "after": "proposal"}}}
    assert signals_from_changes("acme", "webhook", AT, changes_from_webhook_event("acme", event)) == []


def test_champion_departure_needs_the_role_and_ignores_other_contacts(run: WorldRun) -> None:
    current = run.snapshots["acme"][-1]
    contacts = current.tables["contacts"]
    active = contacts.filter(contacts["status"] == "active")
    champion = active.filter(active["role"] == "champion").row(0, named=True)
    user = active.filter(active["role"] == "user").row(0, named=True)

    def departed(contact: dict) -> list[Signal]:
        event = {"type": "crm.record.changed", "object": "contacts", "record_id": contact["contact_id"],
                 "account_id": contact["account_id"],
                 "changes": {"status": {"before": "Active", "after": "No Longer at Company"}}}
        return signals_from_changes("acme", "webhook", AT, changes_from_webhook_event("acme", event),
                                    context=current)

    [signal] = departed(champion)
    assert signal.kind is SignalKind.champion_departed and champion["name"] in signal.narrative
    assert departed(user) == []


@pytest.mark.parametrize("event", [
    {"type": "crm.record.created", "object": "opportunities", "record_id": "o", "changes": {}},
    {"type": "crm.record.changed", "object": "leads", "record_id": "o", "changes": {"x": {}}},
    {"type": "crm.record.changed", "object": "contacts", "changes": {"status": {"before": 1, "after": 2}}},
    {"type": "crm.record.changed", "object": "contacts", "record_id": "c", "changes": {"status": "departed"}},
    {"type": "crm.record.changed", "object": "contacts", "record_id": "c", "changes": {}},
    ["not", "an", "object"],
])
def test_unsupported_events_raise_a_clear_value_error(event: object) -> None:
    with pytest.raises(UnsupportedEvent):
        changes_from_webhook_event("acme", event)  # type: ignore[arg-type]
    assert issubclass(UnsupportedEvent, ValueError)
