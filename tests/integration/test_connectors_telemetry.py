"""TelemetryConnector over real Parquet files and a real pyiceberg SQL-catalog table."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from connectors.cursors import CursorStore, commit_pull
from connectors.object_store import LocalObjectStore
from connectors.telemetry import IcebergUsage, ParquetUsage, TelemetryColumns, TelemetryConnector
from ledger.sql import sqlite_url
from perception.mappings_telemetry import TELEMETRY
from perception.normalize import normalize

NOW = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)


def usage(days: list[date], domain: str = "WWW.Acme.test", tenant: str = "acme") -> pl.DataFrame:
    return pl.DataFrame({"tenant_id": [tenant] * len(days), "account_domain": [domain] * len(days),
                         "product": ["core"] * len(days), "day": days,
                         "active_users": [10 + i for i in range(len(days))], "seats_used": [20] * len(days)})


def days(first: int, last: int) -> list[date]:
    return [date(2025, 3, d) for d in range(first, last + 1)]


def test_parquet_directory_becomes_usage_with_its_account_key_and_bad_rows_quarantined(
        tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    (feed / "2025" / "03").mkdir(parents=True)
    usage(days(1, 3)).write_parquet(feed / "2025" / "03" / "a.parquet")
    bad = pl.DataFrame({"tenant_id": ["acme", "acme"], "account_domain": ["acme.test", None],
                        "product": ["core", "core"], "day": ["2025-03-04", "yesterday"],
                        "active_users": ["-3", "5"], "seats_used": ["1", "1"]})
    bad.write_parquet(feed / "bad.parquet")
    connector = TelemetryConnector(ParquetUsage(feed), columns=TelemetryColumns(tenant="tenant_id"),
                                   now=lambda: NOW)
    snapshot = connector.pull("acme")
    frame = snapshot.objects["usage"]
    assert frame["revloop.account_key_type"].unique().to_list() == ["domain"]
    assert "account_domain" in frame.columns and snapshot.complete
    assert snapshot.cursors == {"usage": datetime(2025, 3, 4, tzinfo=UTC)}

    ns = normalize(snapshot, TELEMETRY)
    good = ns.table("usage").sort("day")
    assert good["usage_id"].to_list()[0] == "WWW.Acme.test|core|2025-03-01"
    assert good["active_users"].to_list() == [10, 11, 12]
    reasons = sorted(ns.quarantine["reason"].to_list())
    assert reasons == ["absurd_value: active_users outside [0, 1e+07]", "missing_id"]


def test_incremental_pull_rereads_the_lookback_window_only(tmp_path: Path) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    usage(days(1, 5)).write_parquet(feed / "first.parquet")
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    store = LocalObjectStore(tmp_path / "lake")
    connector = TelemetryConnector(ParquetUsage(feed), cursors=cursors, lookback=timedelta(days=1),
                                   now=lambda: NOW)
    commit_pull(connector.pull("acme"), store, cursors)
    usage(days(6, 7)).write_parquet(feed / "second.parquet")
    later = TelemetryConnector(ParquetUsage(str(feed / "*.parquet")), cursors=cursors,
                               lookback=timedelta(days=1), now=lambda: NOW + timedelta(days=1))
    snapshot = later.pull("acme")
    assert not snapshot.complete
    assert sorted(snapshot.objects["usage"]["day"].to_list()) == ["2025-03-04", "2025-03-05", "2025-03-06",
                                                                   "2025-03-07"]
    commit_pull(snapshot, store, cursors)
    assert cursors.get("acme", "telemetry")["usage"] == datetime(2025, 3, 7, tzinfo=UTC)
    assert later.pull("acme", full=True).objects["usage"].height == 7


def test_iceberg_table_with_crm_account_ids(tmp_path: Path) -> None:
    catalog = SqlCatalog("telemetry", uri=f"sqlite:///{tmp_path / 'catalog.sqlite'}",
                         warehouse=(tmp_path / "warehouse").as_uri())
    (tmp_path / "warehouse").mkdir()
    catalog.create_namespace("product")
    rows = usage(days(1, 4), domain="001A0").rename({"account_domain": "crm_account"})
    rows = pl.concat([rows, usage(days(1, 2), domain="001B9", tenant="globex")
                      .rename({"account_domain": "crm_account"})])
    table = catalog.create_table("product.daily_usage", schema=rows.to_arrow().schema)
    table.append(rows.to_arrow())
    columns = TelemetryColumns(account_key="crm_account", account_key_type="crm_account_id",
                               tenant="tenant_id")
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    cursors.advance("acme", "telemetry", {"usage": datetime(2025, 3, 3, tzinfo=UTC)})
    connector = TelemetryConnector(IcebergUsage(catalog.load_table("product.daily_usage")), columns=columns,
                                   cursors=cursors, lookback=timedelta(days=0), now=lambda: NOW)
    snapshot = connector.pull("acme")
    frame = snapshot.objects["usage"]
    assert sorted(frame["day"].to_list()) == ["2025-03-03", "2025-03-04"]
    assert set(frame["revloop.account_key"].to_list()) == {"001A0"}
    assert frame["revloop.account_key_type"].unique().to_list() == ["crm_account_id"]
    assert normalize(snapshot, TELEMETRY).table("usage").height == 2
    assert connector.pull("acme", full=True).objects["usage"].height == 4


def test_a_feed_without_the_configured_columns_says_which(tmp_path: Path) -> None:
    usage(days(1, 1)).drop("seats_used").write_parquet(tmp_path / "x.parquet")
    with pytest.raises(ValueError, match=r"lack the configured columns \['seats_used'\]"):
        TelemetryConnector(ParquetUsage(tmp_path)).pull("acme")
    with pytest.raises(FileNotFoundError, match="no telemetry Parquet files"):
        TelemetryConnector(ParquetUsage(tmp_path / "none" / "*.parquet")).pull("acme")
