"""What only the embedded gremlite adapter must show: all-or-nothing writes, file handling."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlite import SQLiteConnection

from world_model.graph import GraphStoreError, SituationGraph, open_gremlite_graph
from world_model.projection import SnapshotError

from .test_world_model_graph_contract import EXPECTED_BASE_COUNTS, account, base_snapshot, tables


def test_a_failed_commit_leaves_the_graph_as_it_was(tmp_path: Path) -> None:
    connection = SQLiteConnection(tmp_path / "graph.sqlite")

    def failing_commit() -> None:
        raise sqlite3.OperationalError("disk I/O error")

    graph = SituationGraph(traversal().with_remote(connection), commit=failing_commit,
                           rollback=connection.rollback, close=connection.close)
    with pytest.raises(sqlite3.OperationalError):
        graph.sync_snapshot("acme", base_snapshot())
    assert graph.counts("acme") == dict.fromkeys(EXPECTED_BASE_COUNTS, 0)  # same connection: rolled back
    graph.close()

    with open_gremlite_graph(tmp_path / "graph.sqlite") as reopened:
        assert reopened.counts("acme") == dict.fromkeys(EXPECTED_BASE_COUNTS, 0)
        reopened.sync_snapshot("acme", base_snapshot())
        assert reopened.counts("acme") == EXPECTED_BASE_COUNTS


def test_absurd_values_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    bad = account("acme", "a9", "Huge")
    bad["seats_licensed"] = 2**62
    snapshot = base_snapshot()
    snapshot["accounts"] = tables([bad], [], [], [])["accounts"]

    with open_gremlite_graph(tmp_path / "graph.sqlite") as graph:
        with pytest.raises(SnapshotError, match="out of the graph's range"):
            graph.sync_snapshot("acme", snapshot)
        assert graph.counts("acme")["Account"] == 0


def test_a_foreign_sqlite_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE proposals (id TEXT)")

    with pytest.raises(GraphStoreError, match="not a gremlite graph"):
        open_gremlite_graph(path)
