"""Backtest over a demo-world history: demo connector -> perception -> graph + memory -> playbook agent ->
operational store -> Cedar with controls, several days; then candidate policy sets replayed over it."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from actions.stage import classify_pending_proposals
from actions.store import OperationalStore
from connectors.demo.connector import DemoConnector
from connectors.demo.world import DemoWorld
from connectors.object_store import LocalObjectStore
from decisioning.controls import Controls
from decisioning.playbook import PlaybookAgent
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from decisioning.policy_backtest import backtest_policies
from decisioning.stage import propose_for_new_signals
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import SenseCursor, normalize_new_snapshots, pull_new_snapshots, sense_snapshot_signals
from tests.integration.test_world_model_memory_contract import FakeEmbedder
from world_model.graph import open_gremlite_graph
from world_model.memory import LanceDbMemory
from world_model.stage import remember_new_signals, update_situation_graph

TENANTS = ["acme", "globex"]
DAYS = 5
KILLED_DAY = 2  # acme's notify.owner is stopped by a kill switch on this day only


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    root = tmp_path_factory.mktemp("history")
    world = DemoWorld.create(root / "world", TENANTS, accounts_per_tenant=10, seed=11, event_rate=0.35)
    connector, raw = DemoConnector(root / "world"), LocalObjectStore(root / "raw")
    normalized = NormalizedSnapshotStore(root / "normalized")
    url = sqlite_url(root / "state.sqlite")
    ledger, signals, cursor, store = Ledger(url), SignalStore(url), SenseCursor(url), OperationalStore(url)
    controls, engine = Controls(url, ledger), CedarPolicyEngine()
    memory = LanceDbMemory(root / "memory", FakeEmbedder())
    with open_gremlite_graph(root / "graph.sqlite") as graph:
        for day in range(DAYS):
            if day:
                world.advance_day()
            if day == KILLED_DAY:
                controls.kill(tenant="acme", action_type="notify.owner", by="ops", reason="test incident")
            for tenant in TENANTS:
                pull_new_snapshots(connector, raw, ledger, tenant)
                normalize_new_snapshots(raw, normalized, ledger, tenant, connector.source)
                sense_snapshot_signals(normalized, signals, cursor, ledger, tenant)
                update_situation_graph(graph, normalized, signals, ledger, tenant)
                remember_new_signals(memory, signals, ledger, tenant)
                outcome = propose_for_new_signals(PlaybookAgent(), graph, memory, signals, ledger, tenant)
                store.add_proposals(outcome.proposals)
            classify_pending_proposals(store, engine, ledger, controls)
            if day == KILLED_DAY:
                controls.resume(tenant="acme", action_type="notify.owner", by="ops", reason="over")
    return ledger


def recorded(ledger: Ledger, tenant: str) -> list[dict[str, object]]:
    return [e.payload for e in ledger.entries(tenant, kind="policy.decided")]


def candidate_dir(tmp_path: Path, tenants_json: dict[str, Any] | None = None) -> Path:
    target = tmp_path / "candidate"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    if tenants_json is not None:
        (target / "tenants.json").write_text(json.dumps(tenants_json))
    return target


def test_the_history_has_decisions_of_every_outcome(history: Ledger) -> None:
    outcomes = Counter(p["outcome"] for t in TENANTS for p in recorded(history, t))
    assert outcomes["automatic"] >= 3 and outcomes["needs_approval"] >= 3 and outcomes["forbidden"] >= 1
    killed = [p for p in recorded(history, "acme") if p["reasons"] == ["kill-switch"]]
    assert killed, "the kill-switch day should have stopped some of acme's notifications"


def test_the_shipped_policies_replayed_change_nothing(history: Ledger, tmp_path: Path) -> None:
    report = backtest_policies(history, CedarPolicyEngine(candidate_dir(tmp_path)))

    assert report.candidate_version == CedarPolicyEngine().policy_version and report.candidate_problems == []
    assert len(report.replayed) == sum(len(recorded(history, t)) for t in TENANTS)
    assert report.changed == [] and all(r.context_recorded for r in report.replayed)
    assert all(not t.changed for t in report.transitions)
    assert "0 would change" in report.table()


def test_a_candidate_without_automatic_notifications_moves_exactly_those_to_review(
        history: Ledger, tmp_path: Path) -> None:
    no_auto_notify = json.loads((DEFAULT_POLICY_DIR / "tenants.json").read_text())
    no_auto_notify["default"]["auto_action_types"] = ["draft.meeting_brief"]
    report = backtest_policies(history, CedarPolicyEngine(candidate_dir(tmp_path, no_auto_notify)))

    was_auto_notify = {p["proposal_id"] for t in TENANTS for p in recorded(history, t)
                       if p["outcome"] == "automatic" and p["action_type"] == "notify.owner"}
    assert was_auto_notify
    [moved] = [t for t in report.transitions if t.changed]
    assert (moved.current, moved.candidate) == ("automatic", "needs_approval")
    assert moved.count == len(was_auto_notify)
    assert set(moved.examples) <= was_auto_notify and len(moved.examples) == min(3, len(was_auto_notify))
    assert {r.proposal_id for r in report.changed} == was_auto_notify
    assert all("tenant-auto-action-types" in r.candidate_reasons for r in report.changed)
    # The kill switch recorded at the time still holds in the replay.
    killed = {p["proposal_id"] for p in recorded(history, "acme") if p["reasons"] == ["kill-switch"]}
    assert {r.candidate.value for r in report.replayed if r.proposal_id in killed} == {"forbidden"}
    assert f"automatic       -> needs_approval  {len(was_auto_notify):>6}" in report.table()


def test_tenant_and_since_narrow_the_replay(history: Ledger, tmp_path: Path) -> None:
    engine = CedarPolicyEngine(candidate_dir(tmp_path))
    globex = backtest_policies(history, engine, tenant="globex")
    assert globex.tenants == ["globex"] and {r.tenant for r in globex.replayed} == {"globex"}
    assert len(globex.replayed) == len(recorded(history, "globex"))

    future = datetime.now(UTC) + timedelta(days=1)
    assert backtest_policies(history, engine, since=future).replayed == []
    past = (datetime.now(UTC) - timedelta(days=1)).replace(tzinfo=None)  # a naive date is read as UTC
    assert len(backtest_policies(history, engine, since=past).replayed) == len(
        backtest_policies(history, engine).replayed)


def test_a_broken_candidate_fails_closed_and_says_so(history: Ledger, tmp_path: Path) -> None:
    target = candidate_dir(tmp_path)
    (target / "approval.cedar").write_text("permit (principal, action, resource")
    report = backtest_policies(history, CedarPolicyEngine(target), tenant="acme")

    assert report.candidate_problems and {r.candidate.value for r in report.replayed} == {"forbidden"}
    assert all(r.candidate_errors for r in report.replayed)
    assert "failed closed" in report.table() and "approval.cedar" in report.table()
