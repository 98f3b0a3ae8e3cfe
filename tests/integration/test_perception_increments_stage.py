"""An incremental pull stored in the lake is normalized onto the state before it, never read as
'everything else was deleted'."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.connector import DemoConnector
from connectors.demo.world import DemoWorld
from connectors.object_store import LocalObjectStore
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.increments import IncrementWithoutBase
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import normalize_new_snapshots


def test_a_partial_snapshot_updates_only_its_rows(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path / "world", ["acme"], 6, 3, 0.0)
    full = DemoConnector(world.root).pull("acme")
    raw, normalized = LocalObjectStore(tmp_path / "lake"), NormalizedSnapshotStore(tmp_path / "lake")
    ledger = Ledger(sqlite_url(tmp_path / "state.sqlite"))
    raw.write_snapshot(full)
    normalize_new_snapshots(raw, normalized, ledger, "acme", "demo")

    accounts = full.objects["accounts"]
    first_id = accounts["Id"][0]
    changed = accounts.head(1).with_columns(pl.col("Name") + " (renamed)")
    partial = replace(full, pulled_at=full.pulled_at + timedelta(hours=1), complete=False,
                      objects={"accounts": changed})
    raw.write_snapshot(partial)
    normalize_new_snapshots(raw, normalized, ledger, "acme", "demo")

    before = normalized.read("acme", full.pulled_at)
    after = normalized.read("acme", partial.pulled_at)
    assert before is not None and after is not None
    assert after.table("accounts").height == before.table("accounts").height
    names = dict(after.table("accounts").select("account_id", "name").iter_rows())
    assert names[first_id].endswith("(renamed)")
    for table in ("contacts", "opportunities", "usage", "activities"):
        assert after.table(table).height == before.table(table).height, table


def test_an_increment_with_no_full_state_stops_with_what_to_do(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path / "world", ["acme"], 4, 3, 0.0)
    partial = replace(DemoConnector(world.root).pull("acme"), complete=False)
    raw = LocalObjectStore(tmp_path / "lake")
    raw.write_snapshot(partial)
    with pytest.raises(IncrementWithoutBase, match="full pull"):
        normalize_new_snapshots(raw, NormalizedSnapshotStore(tmp_path / "lake"),
                                Ledger(sqlite_url(tmp_path / "state.sqlite")), "acme", "demo")
