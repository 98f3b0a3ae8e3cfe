"""The ledger assets materialized by Dagster on real stores: outcomes observed from new snapshots, the
incremental Iceberg export, and the outcome report with a table and a PNG per saved query."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg

from actions.outcomes import OutcomeStore
from ledger.analysis import list_queries
from ledger.iceberg import IcebergWarehouse
from ledger.sql import sqlite_url
from pipelines.assets.ledger import iceberg_tables, observed_outcomes, outcome_report
from pipelines.resources import DemoWorldResource, LakeResource, OperationalDbResource, WarehouseResource
from tests.integration.test_ledger_outcome_analysis import DemoRun, run_the_loop
from tests.unit.test_ledger_outcomes import snapshot


def test_outcomes_export_and_report_materialize(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    run = DemoRun(tmp_path / "run")
    run_the_loop(run)
    lake = LakeResource(root=str(tmp_path / "lake"))
    dates = (date(2025, 3, 20), date(2025, 3, 2), date(2025, 3, 25))
    lake.normalized().write(snapshot(1, "negotiation", *dates))
    lake.normalized().write(snapshot(2, "closed_lost", *dates))
    resources = {
        "db": OperationalDbResource(url=sqlite_url(tmp_path / "run" / "state.sqlite")),
        "lake": lake,
        "demo_world": DemoWorldResource(root=str(tmp_path / "world"), tenants=["acme", "globex"],
                                        accounts_per_tenant=2, seed=3, event_rate=0.0),
        "warehouse": WarehouseResource(catalog_db=str(tmp_path / "iceberg" / "catalog.db"),
                                       warehouse_dir=str(tmp_path / "iceberg" / "warehouse")),
    }
    result = dg.materialize([observed_outcomes, iceberg_tables, outcome_report], resources=resources)
    assert result.success
    outcomes = result.asset_materializations_for_node("observed_outcomes")[0].metadata
    assert outcomes["by_kind"].value == {"deal_lost": 1}
    kinds = [r["kind"] for r in OutcomeStore(resources["db"].url).rows("acme")]
    assert kinds.count("deal_lost") == 3  # two recorded by the run before, one from the new snapshot

    exported = result.asset_materializations_for_node("iceberg_tables")[0].metadata
    warehouse = IcebergWarehouse(tmp_path / "iceberg" / "catalog.db", tmp_path / "iceberg" / "warehouse")
    assert exported["rows_written"].value["outcomes"] == warehouse.row_count("outcomes") > 0

    report = result.asset_materializations_for_node("outcome_report")[0].metadata
    for query in list_queries():
        assert report[f"{query.name}_rows"].value >= 0
        text = report[query.name].value
        assert text.startswith(query.description) and "| tenant |" in text
        assert "data:image/png;base64," in text
        assert Path(report[f"{query.name}_plot"].value).read_bytes()[:4] == b"\x89PNG"

    again = dg.materialize([observed_outcomes, iceberg_tables], resources=resources)
    metadata = {node: again.asset_materializations_for_node(node)[0].metadata
                for node in ("observed_outcomes", "iceberg_tables")}
    assert metadata["observed_outcomes"]["outcomes_recorded"].value == 0
    assert metadata["iceberg_tables"]["total_rows_written"].value == 0
