"""The graph stage skips re-syncing a snapshot the graph already holds, and syncs the next one."""

from __future__ import annotations

from pathlib import Path

from connectors.demo.connector import DemoConnector
from connectors.demo.world import DemoWorld
from connectors.object_store import LocalObjectStore
from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import normalize_new_snapshots, pull_new_snapshots
from world_model.graph import open_gremlite_graph
from world_model.stage import GraphSyncCursor, update_situation_graph


def test_a_snapshot_already_synced_is_not_synced_again(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path / "world", ["acme"], 5, 3, 0.0)
    url = sqlite_url(tmp_path / "state.sqlite")
    ledger, signals, cursor = Ledger(url), SignalStore(url), GraphSyncCursor(url)
    raw, normalized = LocalObjectStore(tmp_path / "lake"), NormalizedSnapshotStore(tmp_path / "lake")

    def new_day() -> None:
        pull_new_snapshots(DemoConnector(world.root), raw, ledger, "acme")
        normalize_new_snapshots(raw, normalized, ledger, "acme", "demo")

    new_day()
    with open_gremlite_graph(tmp_path / "graph.sqlite") as graph:
        first = update_situation_graph(graph, normalized, signals, ledger, "acme", synced=cursor)
        again = update_situation_graph(graph, normalized, signals, ledger, "acme", synced=cursor)
        assert first.vertices_upserted > 0 and not first.snapshot_unchanged
        assert again.snapshot_unchanged and again.vertices_upserted == 0 and again.counts == first.counts
        assert [e.payload["snapshot_unchanged"] for e in ledger.entries("acme", kind="graph.synced")] == \
            [False, True]

        world.advance_day()
        new_day()
        latest = normalized.latest("acme")
        assert latest is not None
        after = update_situation_graph(graph, normalized, signals, ledger, "acme", synced=cursor)
        assert not after.snapshot_unchanged and cursor.get("acme") == latest.pulled_at
