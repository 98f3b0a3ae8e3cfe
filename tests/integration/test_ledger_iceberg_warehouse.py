"""The Iceberg export on a real pyiceberg SQL catalog (SQLite) and a local warehouse directory."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pyiceberg.expressions import EqualTo
from pyiceberg.transforms import DayTransform, IdentityTransform

import ledger.iceberg_files as iceberg_files
from ledger.iceberg import IcebergWarehouse
from ledger.tables import TABLES, RowValidationError


@pytest.fixture
def warehouse(tmp_path: Path) -> IcebergWarehouse:
    return IcebergWarehouse(tmp_path / "catalog" / "iceberg.db", tmp_path / "warehouse")


def signals(tenant: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"tenant": tenant, "signal_id": f"sig_{i}", "account_id": f"acc_{i % 3}", "entity_id": f"opp_{i}",
             "kind": "usage_drop" if i % 2 else "deal_slipped", "severity": "high",
             "source": "demo", "observed_at": datetime(2025, 3, 1 + i % 2, 9, i, tzinfo=UTC),
             "trace_id": None}
            for i in range(start, start + count)]


def proposal(tenant: str, pid: str, status: str, version: int = 1) -> dict[str, Any]:
    return {"tenant": tenant, "proposal_id": pid, "version": version, "account_id": "acc_1",
            "action_type": "crm.create_task", "risk_tier": "L1", "confidence": 0.7, "status": status,
            "created_at": "2025-03-01T09:00:00Z"}


def parquet_files(root: Path) -> set[str]:
    return {str(p) for p in root.rglob("*.parquet")}


def test_rows_round_trip_through_the_warehouse(warehouse: IcebergWarehouse) -> None:
    rows = signals("acme", 4)
    assert warehouse.append_new("signals", rows, key=("tenant", "signal_id")) == 4
    back = sorted(warehouse.scan("signals").to_pylist(), key=lambda r: r["signal_id"])
    assert back == rows
    assert warehouse.row_count("signals") == 4
    assert warehouse.snapshot_count("signals") == 1


def test_reexporting_the_same_rows_adds_nothing(warehouse: IcebergWarehouse) -> None:
    rows = signals("acme", 5) + signals("globex", 5)
    assert warehouse.append_new("signals", rows, key=("tenant", "signal_id")) == 10
    assert warehouse.append_new("signals", rows, key=("tenant", "signal_id")) == 0
    assert warehouse.row_count("signals") == 10
    assert warehouse.snapshot_count("signals") == 1  # nothing new -> no commit at all

    overlapping = signals("acme", 5, start=3)  # sig_3, sig_4 already there
    assert warehouse.append_new("signals", overlapping, key=("tenant", "signal_id")) == 3
    assert warehouse.row_count("signals") == 13
    assert warehouse.snapshot_count("signals") == 2
    assert len(warehouse.scan("signals")) == 13


def test_the_key_is_tenant_scoped(warehouse: IcebergWarehouse) -> None:
    warehouse.append_new("signals", signals("acme", 2), key=("tenant", "signal_id"))
    assert warehouse.append_new("signals", signals("globex", 2), key=("tenant", "signal_id")) == 2


def test_repeats_within_one_call_count_once(warehouse: IcebergWarehouse) -> None:
    rows = signals("acme", 3)
    assert warehouse.append_new("signals", rows + rows, key=("tenant", "signal_id")) == 3
    assert warehouse.row_count("signals") == 3


def test_the_table_key_is_the_default(warehouse: IcebergWarehouse) -> None:
    rows = signals("acme", 3)
    warehouse.append_new("signals", rows)
    assert warehouse.append_new("signals", rows) == 0


def test_a_key_that_is_not_a_column_is_refused(warehouse: IcebergWarehouse) -> None:
    with pytest.raises(ValueError, match=r"key columns \['id'\] are not columns"):
        warehouse.append_new("signals", signals("acme", 1), key=("tenant", "id"))


def test_replace_overwrites_the_table(warehouse: IcebergWarehouse) -> None:
    warehouse.replace("proposals", [proposal("acme", "p1", "needs_approval"),
                                    proposal("acme", "p2", "needs_approval")])
    assert warehouse.replace("proposals", [proposal("acme", "p1", "approved")]) == 1
    assert [(r["proposal_id"], r["status"]) for r in warehouse.scan("proposals").to_pylist()] == \
        [("p1", "approved")]
    assert warehouse.row_count("proposals") == 1


def test_replace_for_one_tenant_keeps_the_others(warehouse: IcebergWarehouse) -> None:
    warehouse.replace("proposals", [proposal("acme", "p1", "needs_approval"),
                                    proposal("globex", "g1", "needs_approval")])
    warehouse.replace("proposals", [proposal("acme", "p1", "executed")], tenant="acme")
    got = sorted((r["tenant"], r["status"]) for r in warehouse.scan("proposals").to_pylist())
    assert got == [("acme", "executed"), ("globex", "needs_approval")]
    with pytest.raises(ValueError, match=r"replace\(tenant='acme'\) got rows of other tenants \['globex'\]"):
        warehouse.replace("proposals", [proposal("globex", "g1", "approved")], tenant="acme")


def test_replace_with_nothing_empties_the_table(warehouse: IcebergWarehouse) -> None:
    warehouse.replace("proposals", [proposal("acme", "p1", "approved")])
    assert warehouse.replace("proposals", []) == 0
    assert warehouse.row_count("proposals") == 0 and len(warehouse.scan("proposals")) == 0


def test_replace_refuses_two_rows_for_one_key(warehouse: IcebergWarehouse) -> None:
    with pytest.raises(ValueError, match="appear more than once"):
        warehouse.replace("proposals", [proposal("acme", "p1", "approved"),
                                        proposal("acme", "p1", "rejected")])
    assert warehouse.replace("proposals", [proposal("acme", "p1", "approved"),
                                           proposal("acme", "p1", "approved", version=2)]) == 2


def test_tables_carry_the_partition_spec_and_files_follow_it(warehouse: IcebergWarehouse,
                                                           tmp_path: Path) -> None:
    warehouse.append_new("signals", signals("acme", 4) + signals("globex", 4), key=("tenant", "signal_id"))
    table = warehouse.load("signals")
    assert table is not None
    assert [(type(f.transform), f.name) for f in table.spec().fields] == [
        (IdentityTransform, "tenant"), (DayTransform, "observed_at_day")]
    assert table.schema().identifier_field_ids == TABLES["signals"].schema.identifier_field_ids
    # 2 tenants x 2 days -> 4 data files, and a tenant filter reads only that tenant's 2
    assert len(list(table.scan().plan_files())) == 4
    assert len(list(table.scan(row_filter=EqualTo("tenant", "acme")).plan_files())) == 2
    assert len(parquet_files(tmp_path / "warehouse")) == 4


def test_a_bad_row_refuses_the_whole_batch(warehouse: IcebergWarehouse) -> None:
    rows = signals("acme", 3)
    rows[2]["observed_at"] = "2025-03-01 09:00"
    with pytest.raises(RowValidationError, match="table 'signals', row 2 .*column 'observed_at'"):
        warehouse.append_new("signals", rows, key=("tenant", "signal_id"))
    assert warehouse.row_count("signals") == 0 and warehouse.snapshot_count("signals") == 0


def test_a_fresh_warehouse_reads_as_empty(warehouse: IcebergWarehouse) -> None:
    for name in warehouse.table_names():
        assert warehouse.scan(name).num_rows == 0
        assert warehouse.scan(name).column_names == list(TABLES[name].columns)
        assert warehouse.row_count(name) == 0 and warehouse.snapshot_count(name) == 0
        assert warehouse.load(name) is None  # reading created nothing


def test_a_second_process_sees_the_same_tables(warehouse: IcebergWarehouse, tmp_path: Path) -> None:
    warehouse.append_new("signals", signals("acme", 2), key=("tenant", "signal_id"))
    again = IcebergWarehouse(tmp_path / "catalog" / "iceberg.db", tmp_path / "warehouse")
    assert again.append_new("signals", signals("acme", 2), key=("tenant", "signal_id")) == 0
    assert again.row_count("signals") == 2


def test_an_exporter_that_loses_a_race_rechecks_keys_and_cleans_up(
        warehouse: IcebergWarehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = signals("acme", 6)
    rival = IcebergWarehouse(tmp_path / "catalog" / "iceberg.db", tmp_path / "warehouse")
    rival.append_new("signals", rows[:1], key=("tenant", "signal_id"))  # the table exists already
    real_write = iceberg_files._write_data_files
    raced = []

    def write_after_rival_commits(table: Any, batch: Any) -> list[str]:
        if not raced:  # between our key check and our commit, the rival exports the same rows
            raced.append(True)
            assert rival.append_new("signals", rows, key=("tenant", "signal_id")) == 5
        return real_write(table, batch)

    monkeypatch.setattr(iceberg_files, "_write_data_files", write_after_rival_commits)
    assert warehouse.append_new("signals", rows, key=("tenant", "signal_id")) == 0
    assert warehouse.row_count("signals") == 6
    assert len(warehouse.scan("signals")) == 6
    table = warehouse.load("signals")
    assert table is not None
    live = {task.file.file_path.removeprefix("file://") for task in table.scan().plan_files()}
    assert parquet_files(tmp_path / "warehouse") == live  # the losing attempt's files were deleted
