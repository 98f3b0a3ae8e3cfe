"""Great Expectations suites over canonical tables (real GX 1.x; one module because it imports slowly)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from connectors.demo.connector import DemoConnector
from connectors.demo.world import DemoWorld
from perception.expectations import validate_table
from perception.normalize import normalize


def test_suites_pass_on_normalized_demo_data_and_name_failing_tenants(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme", "globex"], 10, 2, 0.0)
    connector = DemoConnector(tmp_path)
    snapshots = [normalize(connector.pull(t)) for t in world.tenants]
    good = pl.concat([ns.tables["opportunities"] for ns in snapshots])
    report = validate_table("opportunities", good)
    assert report.success and report.failing_tenants == [] and report.rows == good.height

    usage = pl.concat([ns.tables["usage"] for ns in snapshots])
    assert validate_table("usage", usage).success

    bad_row = {"tenant": "globex", "opportunity_id": "x1", "account_id": None, "name": "n", "stage": "won",
               "amount": -5.0, "close_date": date(2026, 1, 1), "owner_email": None}
    duplicate = good.filter(pl.col("tenant") == "globex").head(1)
    bad = pl.concat([good, pl.DataFrame([bad_row], schema=good.schema), duplicate])
    report = validate_table("opportunities", bad)
    assert not report.success
    assert report.failing_tenants == ["globex"]
    failed = {r.name: r for r in report.results if not r.success}
    assert set(failed) == {
        "expect_column_values_to_not_be_null(account_id)",
        "expect_compound_columns_to_be_unique(tenant,opportunity_id)",
        "expect_column_values_to_be_between(amount)",
        "expect_column_values_to_be_in_set(stage)",
    }
    assert failed["expect_column_values_to_be_between(amount)"].unexpected_count == 1
    assert all(r.failing_tenants == ["globex"] for r in failed.values())
