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


def test_an_edge_into_another_tenant_is_never_followed(tmp_path: Path) -> None:
    """Even a corrupted graph (an edge written across tenants by hand) leaks nothing: every hop re-checks
    the tenant."""
    canary = "CANARY-globex-e1"
    path = tmp_path / "graph.sqlite"
    with open_gremlite_graph(path) as graph:
        graph.sync_snapshot("acme", base_snapshot("acme"))
        graph.sync_snapshot("globex", base_snapshot("globex", canary=canary))
    connection = SQLiteConnection(path)
    g = traversal().with_remote(connection)
    acme_a1 = "acme|Account|a1"
    for label, source in [("WORKS_AT", "globex|Contact|c1"), ("CHAMPION_OF", "globex|Contact|c1"),
                          ("OCCURRED_AT", "globex|Event|activity:e1"), ("AFFECTS", "globex|Contact|c1")]:
        g.V().has("key", acme_a1).as_("a").V().has("key", source).addE(label).to("a").iterate()
    g.V().has("key", acme_a1).as_("a").V().has("key", "globex|Opportunity|o1").addE("HAS_OPPORTUNITY") \
        .from_("a").iterate()
    connection.commit()
    connection.close()

    with open_gremlite_graph(path) as graph:
        answers = [graph.neighbourhood("acme", "a1"), graph.buying_committee("acme", "a1"),
                   *graph.open_opportunities("acme", "a1"), *graph.risks("acme", "a1"),
                   *graph.recent_events("acme", "a1", limit=100), graph.account_context("acme", "a1")]
        dumped = " ".join(a.model_dump_json() for a in answers)
        assert canary not in dumped
        assert len(graph.buying_committee("acme", "a1").members) == 3
        assert canary in graph.buying_committee("globex", "a1").model_dump_json()


def test_concurrent_syncs_of_one_snapshot_create_nothing_twice(tmp_path: Path) -> None:
    """Creates skip their existence checks because sync plans under the write lock (BEGIN IMMEDIATE);
    two writers racing on one file must still end with exactly one copy of everything."""
    from concurrent.futures import ThreadPoolExecutor

    path = tmp_path / "graph.sqlite"
    open_gremlite_graph(path).close()  # create the schema once

    def sync() -> int:
        with open_gremlite_graph(path) as graph:
            stats = graph.sync_snapshot("acme", base_snapshot())
            return stats.vertices_upserted

    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda _: sync(), range(4)))
    assert sorted(created) == [0, 0, 0, 17]  # one writer created everything, the others found it
    with open_gremlite_graph(path) as graph:
        assert graph.counts("acme") == EXPECTED_BASE_COUNTS
