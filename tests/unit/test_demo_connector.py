"""DemoConnector pulls the latest export as raw text records; the object store keeps pulls immutable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.connector import DemoConnector, DemoExportMissing
from connectors.demo.world import DemoWorld
from connectors.object_store import LocalObjectStore, SnapshotConflict, SnapshotNotFound
from connectors.records import PullConnector, RawSnapshot


@pytest.fixture()
def world(tmp_path: Path) -> DemoWorld:
    world = DemoWorld.create(tmp_path / "world", ["acme"], 8, 3, 0.1, corruption_rate=0.1)
    world.advance_day()
    return world


def test_pull_returns_latest_day_as_raw_text(world: DemoWorld) -> None:
    connector: PullConnector = DemoConnector(world.root)
    snapshot = connector.pull("acme")
    assert snapshot.source == "demo" and snapshot.tenant == "acme"
    assert snapshot.pulled_at == datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC)
    assert {"accounts", "contacts", "opportunities", "usage"} <= set(snapshot.objects)
    accounts = snapshot.objects["accounts"]
    assert "AnnualRecurringRevenue" in accounts.columns  # as exported, not renamed
    assert all(dtype == pl.String for dtype in accounts.schema.values())
    assert accounts.height == sum(1 for _ in (world.export_dir("acme") / "accounts.jsonl").open())
    earlier = DemoConnector(world.root).pull("acme", day=date(2026, 1, 1))
    assert earlier.pulled_at.date() == date(2026, 1, 1)


def test_pull_of_unknown_tenant_says_what_is_wrong(world: DemoWorld) -> None:
    with pytest.raises(DemoExportMissing, match="no demo exports for tenant 'nobody'"):
        DemoConnector(world.root).pull("nobody")


def test_object_store_round_trips_a_snapshot(world: DemoWorld, tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "lake")
    snapshot = DemoConnector(world.root).pull("acme")
    mixed = RawSnapshot("acme", "demo", snapshot.pulled_at, {
        **snapshot.objects,
        "odd": pl.DataFrame({"n": [1, None], "x": [1.5, float("nan")], "s": ["a", None],
                             "nested": [{"a": 1}, None]}),
    })
    paths = store.write_snapshot(mixed)
    key = "tenant=acme/source=demo/object=accounts/pulled_at=20260102T235959Z.parquet"
    assert any(p.endswith(key) for p in paths)
    back = store.read_snapshot("acme", "demo", snapshot.pulled_at)
    assert back.pulled_at == snapshot.pulled_at and set(back.objects) == set(mixed.objects)
    for name, frame in mixed.objects.items():
        assert back.objects[name].equals(frame, null_equal=True), name
    assert store.list_snapshots("acme", "demo") == [snapshot.pulled_at]


def test_object_store_addresses_are_immutable(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path)
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    first = RawSnapshot("acme", "demo", at, {"accounts": pl.DataFrame({"Id": ["1"]})})
    store.write_snapshot(first)
    store.write_snapshot(first)  # a retried write of the same pull is fine
    with pytest.raises(SnapshotConflict, match="immutable"):
        store.write_snapshot(RawSnapshot("acme", "demo", at, {"accounts": pl.DataFrame({"Id": ["2"]})}))
    assert store.read_snapshot("acme", "demo", at).objects["accounts"]["Id"].to_list() == ["1"]
    with pytest.raises(SnapshotNotFound):
        store.read_snapshot("acme", "demo", datetime(2026, 1, 2, tzinfo=UTC))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.write_snapshot(RawSnapshot("acme", "demo", datetime(2026, 1, 3), first.objects))
    with pytest.raises(ValueError, match="object key"):
        store.list_snapshots("../etc", "demo")
