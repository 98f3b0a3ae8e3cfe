"""The export appends only what is new since the last one (watermarks in the tables' snapshot summaries),
picks up late arrivals inside the window, and adds a contract's new optional column to an older table."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import ledger.tables as tables
from ledger.iceberg import IcebergWarehouse
from ledger.store import NewEntry
from ledger.tables import define_table
from perception.contracts import SignalKind
from pipelines.export import LATE_ARRIVALS, export_to_warehouse, signal_rows
from tests.integration.test_actions_support import T0
from tests.integration.test_ledger_outcome_analysis import DemoRun, run_the_loop, signal


@pytest.fixture
def run(tmp_path: Path) -> DemoRun:
    demo = DemoRun(tmp_path)
    run_the_loop(demo)
    return demo


def snapshots(warehouse: IcebergWarehouse) -> dict[str, int]:
    return {name: warehouse.snapshot_count(name) for name in warehouse.table_names()}


def test_a_second_export_with_nothing_new_writes_nothing(run: DemoRun) -> None:
    first = run.export()
    assert all(first[name] > 0 for name in ("signals", "proposals", "decisions", "actions", "outcomes",
                                            "ledger_entries"))
    before = snapshots(run.warehouse)
    assert set(run.export().values()) == {0}
    assert snapshots(run.warehouse) == before
    marks = run.warehouse.watermarks("ledger_entries")
    assert {t: int(v) for t, v in marks.items()} == {t: len(run.loop.ledger.entries(t))
                                                     for t in ("acme", "globex")}


def test_only_new_rows_are_appended_and_late_ones_inside_the_window(run: DemoRun) -> None:
    run.export()
    newest = max(s.observed_at for s in run.signals.list("acme"))
    assert run.warehouse.watermarks("signals")["acme"] == newest.isoformat()
    late = signal("acme", 100, SignalKind.usage_drop, newest - LATE_ARRIVALS + timedelta(hours=1))
    too_late = signal("acme", 101, SignalKind.usage_drop, newest - LATE_ARRIVALS - timedelta(days=1))
    fresh = signal("acme", 102, SignalKind.deal_slipped, newest + timedelta(days=1))
    run.signals.add_new([late, too_late, fresh])
    run.loop.ledger.append_many([NewEntry("globex", "note.added", "test", {"n": n}) for n in range(3)])
    written = run.export()
    assert written["signals"] == 2 and written["ledger_entries"] == 3
    assert written["decisions"] == written["actions"] == written["proposals"] == written["outcomes"] == 0
    ids = set(run.warehouse.scan("signals").column("signal_id").to_pylist())
    assert {late.signal_id, fresh.signal_id} <= ids and too_late.signal_id not in ids
    assert run.warehouse.watermarks("signals")["acme"] == fresh.observed_at.isoformat()
    full = export_to_warehouse(run.warehouse, run.signals, run.loop.store, run.loop.ledger, run.outcomes,
                               full=True)
    assert full["signals"] == 1 and full["ledger_entries"] == 0  # the old one, once; nothing twice
    assert run.warehouse.row_count("signals") == len(run.signals.list())


def test_a_changed_proposal_status_replaces_only_its_tenants_rows(run: DemoRun) -> None:
    run.export()
    run.loop.clock.now = T0 + timedelta(days=4)
    run.loop.store.expire_overdue(run.loop.clock(), timedelta(hours=1))
    written = run.export()
    statuses = {r["proposal_id"]: r["status"] for r in run.warehouse.scan("proposals").to_pylist()}
    assert statuses == {p["proposal_id"]: p["status"] for p in run.loop.store.proposal_rows()}
    assert written["proposals"] in (0, len(run.loop.store.rows("proposals", "acme")),
                                    len(run.loop.store.rows("proposals", "globex")),
                                    len(run.loop.store.proposal_rows()))


def test_a_new_optional_contract_field_adds_a_column_to_an_older_table(
        run: DemoRun, monkeypatch: pytest.MonkeyPatch) -> None:
    current = tables.TABLES["signals"]
    old_columns = [(f.name, f.field_type, f.required) for f in current.schema.fields if f.name != "trace_id"]
    older = define_table("signals", old_columns, key=current.key, time_column=current.time_column)
    monkeypatch.setitem(tables.TABLES, "signals", older)  # what an earlier release created and wrote
    old_rows = [{k: v for k, v in r.items() if k != "trace_id"} for r in signal_rows(run.signals)[:3]]
    assert run.warehouse.append_new("signals", old_rows) == 3
    assert "trace_id" not in run.warehouse.scan("signals").column_names
    monkeypatch.setitem(tables.TABLES, "signals", current)

    traced = signal("acme", 200, SignalKind.usage_drop, T0).model_copy(
        update={"trace_id": "4bf92f3577b34da6"})
    run.signals.add_new([traced])
    run.export()
    table = run.warehouse.load("signals")
    assert table is not None and table.schema().find_field("trace_id").required is False
    by_id = {r["signal_id"]: r for r in run.warehouse.scan("signals").to_pylist()}
    assert by_id[traced.signal_id]["trace_id"] == "4bf92f3577b34da6"
    assert all(by_id[r["signal_id"]]["trace_id"] is None for r in old_rows)
    assert len(by_id) == len(run.signals.list())
