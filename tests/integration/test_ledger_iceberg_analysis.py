"""Saved DuckDB queries over real Iceberg tables, checked against counts computed here in Python."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger.analysis import list_queries, run_query
from ledger.iceberg import IcebergWarehouse
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from ledger.tables import ledger_entry_rows

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


SIGNALS = [
    {"tenant": t, "signal_id": f"{t}-s{i}", "account_id": f"{t}-a{i % 2}", "entity_id": f"e{i}", "kind": kind,
     "severity": sev, "source": "demo", "observed_at": at(i * 7)}
    for t, specs in {
        "acme": [("usage_drop", "high"), ("usage_drop", "low"), ("usage_drop", "high"),
                 ("deal_slipped", "medium"), ("champion_departed", "high"), ("deal_slipped", "low"),
                 ("usage_drop", "medium")],
        "globex": [("expansion_intent", "low"), ("usage_drop", "high"), ("expansion_intent", "medium")],
    }.items()
    for i, (kind, sev) in enumerate(specs)
]


def proposal(t: str, pid: str, version: int, action: str, status: str, created: datetime) -> dict[str, Any]:
    return {"tenant": t, "proposal_id": pid, "version": version, "account_id": f"{t}-a0",
            "action_type": action, "risk_tier": "L1", "confidence": 0.6, "status": status,
            "created_at": created}


PROPOSALS = [
    proposal("acme", "p1", 1, "crm.create_task", "superseded", at(0)),
    proposal("acme", "p1", 2, "crm.create_task", "approved", at(2)),
    proposal("acme", "p2", 1, "crm.create_task", "rejected", at(1)),
    proposal("acme", "p3", 1, "notify.owner", "executed", at(1)),
    proposal("acme", "p4", 1, "crm.update_field", "needs_approval", at(4)),
    proposal("acme", "p5", 1, "crm.update_field", "executed", at(0)),
    proposal("globex", "g1", 1, "crm.create_task", "executed", at(0)),
]


def decision(t: str, did: str, pid: str, stage: str, outcome: str, decided: datetime) -> dict[str, Any]:
    return {"tenant": t, "decision_id": did, "proposal_id": pid, "stage": stage, "outcome": outcome,
            "actor": "ana" if stage == "review" else "policy@v1", "decided_at": decided}


DECISIONS = [
    decision("acme", "d1", "p1", "policy", "needs_approval", at(0.1)),
    decision("acme", "d2", "p1", "review", "reject", at(1)),
    decision("acme", "d3", "p1", "review", "approve", at(3)),  # the final review of p1 counts
    decision("acme", "d4", "p2", "policy", "needs_approval", at(1.1)),
    decision("acme", "d5", "p2", "review", "reject", at(2)),
    decision("acme", "d6", "p3", "policy", "automatic", at(1.1)),  # never reviewed
    decision("acme", "d7", "p5", "review", "approve", at(6)),
    decision("globex", "d8", "g1", "review", "approve", at(5)),
]

ACTIONS = [
    {"tenant": "acme", "idempotency_key": "p1:v2", "proposal_id": "p1", "action_type": "crm.create_task",
     "status": "succeeded", "executed_at": at(3.5)},
    {"tenant": "acme", "idempotency_key": "p3:v1", "proposal_id": "p3", "action_type": "notify.owner",
     "status": "succeeded", "executed_at": at(1.5)},
    {"tenant": "acme", "idempotency_key": "p5:v1", "proposal_id": "p5", "action_type": "crm.update_field",
     "status": "failed", "executed_at": at(6.5)},
    {"tenant": "globex", "idempotency_key": "g1:v1", "proposal_id": "g1", "action_type": "crm.create_task",
     "status": "succeeded", "executed_at": at(5.5)},
]


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[IcebergWarehouse, list[dict[str, Any]]]:
    root = tmp_path_factory.mktemp("analysis")
    ledger = Ledger(sqlite_url(root / "ledger.db"))
    ledger.append_many([NewEntry("acme", "signal.raised", "perception", {"n": i}) for i in range(9)]
                       + [NewEntry("globex", "signal.raised", "perception", {"n": i}) for i in range(4)])
    entries = ledger_entry_rows(ledger.entries("acme") + ledger.entries("globex"))
    warehouse = IcebergWarehouse(root / "iceberg.db", root / "warehouse")
    warehouse.append_new("signals", SIGNALS, key=("tenant", "signal_id"))
    warehouse.replace("proposals", PROPOSALS)
    warehouse.append_new("decisions", DECISIONS, key=("tenant", "decision_id"))
    warehouse.append_new("actions", ACTIONS, key=("tenant", "idempotency_key"))
    warehouse.append_new("ledger_entries", entries, key=("tenant", "seq"))
    return warehouse, entries


def expected_loop_counts(entries: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for p in PROPOSALS:
        k = (p["tenant"], p["proposal_id"])
        if k not in latest or p["version"] > latest[k]["version"]:
            latest[k] = p
    counts: Counter[tuple[str, str]] = Counter()
    for tenant in {r["tenant"] for r in SIGNALS + PROPOSALS + DECISIONS + ACTIONS + entries}:
        for metric in ("signals", "proposals", "actions_executed", "actions_failed", "ledger_entries"):
            counts[(tenant, metric)] += 0
    counts.update((s["tenant"], "signals") for s in SIGNALS)
    counts.update((t, "proposals") for t, _ in latest)
    counts.update((p["tenant"], f"proposals.{p['status']}") for p in latest.values())
    counts.update((a["tenant"], "actions_executed") for a in ACTIONS if a["status"] == "succeeded")
    counts.update((a["tenant"], "actions_failed") for a in ACTIONS if a["status"] == "failed")
    counts.update((e["tenant"], "ledger_entries") for e in entries)
    return dict(counts)


def test_loop_counts_match_the_rows_exported(loaded: tuple[IcebergWarehouse, list[dict[str, Any]]]) -> None:
    warehouse, entries = loaded
    got = {(r["tenant"], r["metric"]): r["value"] for r in run_query(warehouse, "loop_counts").to_pylist()}
    assert got == expected_loop_counts(entries)
    assert got[("acme", "proposals")] == 5  # p1's two versions are one proposal
    assert got[("acme", "proposals.approved")] == 1 and ("acme", "proposals.superseded") not in got
    assert got[("globex", "ledger_entries")] == 4


def test_loop_counts_for_one_tenant(loaded: tuple[IcebergWarehouse, list[dict[str, Any]]]) -> None:
    warehouse, _ = loaded
    rows = run_query(warehouse, "loop_counts", {"tenant": "globex"}).to_pylist()
    assert rows and {r["tenant"] for r in rows} == {"globex"}
    assert [r["metric"] for r in rows][:2] == ["signals", "proposals"]


def test_approval_rate_by_action_type(loaded: tuple[IcebergWarehouse, list[dict[str, Any]]]) -> None:
    warehouse, _ = loaded
    first_created: dict[tuple[str, str], datetime] = {}
    action_of: dict[tuple[str, str], str] = {}
    for p in PROPOSALS:
        k = (p["tenant"], p["proposal_id"])
        first_created[k] = min(first_created.get(k, p["created_at"]), p["created_at"])
        action_of[k] = p["action_type"]
    final: dict[tuple[str, str], dict[str, Any]] = {}
    for d in DECISIONS:
        k = (d["tenant"], d["proposal_id"])
        if d["stage"] == "review" and (k not in final or d["decided_at"] > final[k]["decided_at"]):
            final[k] = d
    groups: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for k, d in final.items():
        hours = (d["decided_at"] - first_created[k]).total_seconds() / 3600
        groups.setdefault((k[0], action_of[k]), []).append((d["outcome"], hours))
    expected = {
        g: {"reviewed": len(v), "approved": sum(o == "approve" for o, _ in v),
            "rejected": sum(o == "reject" for o, _ in v),
            "approval_rate": sum(o == "approve" for o, _ in v) / len(v),
            "median_hours_to_decision": statistics.median(h for _, h in v)}
        for g, v in groups.items()
    }
    got = {(r.pop("tenant"), r.pop("action_type")): r
           for r in run_query(warehouse, "approval_rate_by_action_type").to_pylist()}
    assert got.keys() == expected.keys()
    for g, want in expected.items():
        assert got[g] == pytest.approx(want), g
    assert got[("acme", "crm.create_task")] == pytest.approx(
        {"reviewed": 2, "approved": 1, "rejected": 1, "approval_rate": 0.5, "median_hours_to_decision": 2.0})


def test_signals_by_kind(loaded: tuple[IcebergWarehouse, list[dict[str, Any]]]) -> None:
    warehouse, _ = loaded
    got = {(r["tenant"], r["kind"]): r for r in run_query(warehouse, "signals_by_kind").to_pylist()}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for s in SIGNALS:
        groups.setdefault((s["tenant"], s["kind"]), []).append(s)
    assert got.keys() == groups.keys()
    for g, rows in groups.items():
        severities = Counter(s["severity"] for s in rows)
        assert got[g]["signals"] == len(rows)
        assert (got[g]["high"], got[g]["medium"], got[g]["low"]) == (
            severities["high"], severities["medium"], severities["low"])
        assert got[g]["accounts"] == len({s["account_id"] for s in rows})
        assert got[g]["first_observed_at"] == min(s["observed_at"] for s in rows)
        assert got[g]["last_observed_at"] == max(s["observed_at"] for s in rows)
    acme = [r["kind"] for r in run_query(warehouse, "signals_by_kind", {"tenant": "acme"}).to_pylist()]
    assert acme[0] == "usage_drop" and len(acme) == 3  # most frequent kind first


def test_every_saved_query_runs_on_a_fresh_install(tmp_path: Path) -> None:
    warehouse = IcebergWarehouse(tmp_path / "iceberg.db", tmp_path / "warehouse")
    for query in list_queries():
        assert run_query(warehouse, query.name).num_rows == 0
    assert all(warehouse.load(name) is None for name in warehouse.table_names())


def test_an_unknown_parameter_is_refused(loaded: tuple[IcebergWarehouse, list[dict[str, Any]]]) -> None:
    warehouse, _ = loaded
    with pytest.raises(ValueError, match=r"takes parameters \['tenant'\], not \['since'\]"):
        run_query(warehouse, "signals_by_kind", {"since": "2025-01-01"})
