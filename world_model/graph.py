"""The situation graph: one tenant-scoped property graph of accounts, people, deals, products, signals.

Written once against a gremlinpython ``GraphTraversalSource`` plus a commit callable, so the same
traversals serve gremlite (embedded, SQLite) and Amazon Neptune."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import polars as pl
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlite import SQLiteConnection
from gremlite.errors import BadDatabase

from perception.contracts import Signal
from world_model import traversals as tv
from world_model.account_context import build_account_context
from world_model.contracts import AccountContext, GraphSyncStats
from world_model.graph_schema import (
    ABOUT,
    ACCOUNT,
    EDGE_LABELS,
    ENTITY_LABELS,
    RAISED,
    SIGNAL,
    SNAPSHOT_EDGE_LABELS,
    SNAPSHOT_VERTEX_LABELS,
    VERTEX_LABELS,
    vertex_key,
)
from world_model.projection import project_snapshot
from world_model.sync_plan import plan_sync
from world_model.tenancy import validate_tenant


class GraphStoreError(RuntimeError):
    """The graph store cannot be opened or used as a situation graph."""


class SituationGraph:
    """Tenant-scoped reads and idempotent writes of the situation graph.

    Each write method runs in one transaction: it commits at the end, or rolls back and re-raises."""

    def __init__(
        self,
        g: GraphTraversalSource,
        commit: Callable[[], None],
        rollback: Callable[[], None] | None = None,
        close: Callable[[], None] | None = None,
        recent_signal_limit: int = 20,
    ) -> None:
        self._g = g
        self._commit = commit
        self._rollback = rollback
        self._close = close
        self._recent_signal_limit = recent_signal_limit

    def sync_snapshot(self, tenant: str, tables: dict[str, pl.DataFrame]) -> GraphSyncStats:
        """Make the tenant's accounts, contacts, opportunities and products match one snapshot.

        Only differences are written: a record gone from the snapshot is removed, a champion who
        departed loses CHAMPION_OF, and syncing the same snapshot twice writes nothing."""
        projection = project_snapshot(tenant, tables)
        g = self._g
        try:
            plan = plan_sync(
                projection,
                tv.read_vertices(g, tenant),
                tv.read_edges(g, tenant, SNAPSHOT_EDGE_LABELS),
                SNAPSHOT_VERTEX_LABELS,
            )
            for edge in plan.edges_to_drop:
                tv.drop_edge(g, edge)
            for key in plan.vertices_to_drop:
                tv.drop_vertex(g, key)
            for key, (label, props) in plan.vertices_to_add.items():
                tv.upsert_vertex(g, tenant, key, label, props)
            for key, (changed, cleared) in plan.vertices_to_update.items():
                tv.update_vertex(g, key, changed, cleared)
            for edge, props in plan.edges_to_add.items():
                tv.upsert_edge(g, edge, props)
            for edge, (changed, cleared) in plan.edges_to_update.items():
                tv.update_edge(g, edge, changed, cleared)
            self._commit()
        except BaseException:
            self._abort()
            raise
        return GraphSyncStats(
            vertices_upserted=len(plan.vertices_to_add) + len(plan.vertices_to_update),
            edges_upserted=len(plan.edges_to_add) + len(plan.edges_to_update),
            vertices_removed=len(plan.vertices_to_drop),
            edges_removed=len(plan.edges_to_drop),
        )

    def record_signals(self, signals: list[Signal]) -> int:
        """Add each signal with RAISED (to its account) and ABOUT (to its entity) edges.

        Returns how many signals were new. Re-recording adds nothing, but links edges whose target
        vertex has appeared since (an edge to a vertex that does not exist is not created)."""
        unique = {vertex_key(s.tenant, SIGNAL, s.signal_id): s for s in signals}
        g = self._g
        try:
            known = tv.existing_keys(g, list(unique))
            for key, signal in unique.items():
                if key not in known:
                    tv.upsert_vertex(g, signal.tenant, key, SIGNAL, _signal_props(signal))
                account = vertex_key(signal.tenant, ACCOUNT, signal.account_id)
                tv.upsert_edge(g, (RAISED, key, account), {})
                label = ENTITY_LABELS.get(signal.entity_type)
                if label is not None:
                    tv.upsert_edge(g, (ABOUT, key, vertex_key(signal.tenant, label, signal.entity_id)), {})
            self._commit()
        except BaseException:
            self._abort()
            raise
        return len(unique) - len(known)

    def account_context(self, tenant: str, account_id: str) -> AccountContext:
        """The account's contacts, champions, open opportunities and recent signals, with the paths walked.

        An account the graph does not hold yields ``name=None`` and empty lists (not an error): a
        signal may arrive before the snapshot that introduces its account."""
        validate_tenant(tenant)
        return build_account_context(self._g, tenant, account_id, self._recent_signal_limit)

    def counts(self, tenant: str) -> dict[str, int]:
        """Vertices by label and edges (by the tenant's out-edges) by label, zeros included."""
        validate_tenant(tenant)
        vertex_labels, edge_labels = tv.labels_of_tenant(self._g, tenant)
        out = dict.fromkeys((*VERTEX_LABELS, *EDGE_LABELS), 0)
        out.update(Counter(vertex_labels))
        out.update(Counter(edge_labels))
        return out

    def close(self) -> None:
        if self._close is not None:
            self._close()

    def __enter__(self) -> SituationGraph:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _abort(self) -> None:
        if self._rollback is not None:
            self._rollback()


def _signal_props(signal: Signal) -> dict[str, str | int | float | bool]:
    props = {
        "signal_id": signal.signal_id,
        "kind": signal.kind.value,
        "severity": signal.severity.value,
        "account_id": signal.account_id,
        "entity_type": signal.entity_type,
        "entity_id": signal.entity_id,
        "observed_at": _utc_iso(signal.observed_at),
        "source": signal.source,
        "dedupe_key": signal.dedupe_key,
        "narrative": signal.narrative,
    }
    return {k: v for k, v in props.items() if v is not None}


def _utc_iso(moment: datetime) -> str:
    """UTC ISO-8601, so that signals sort by time as strings."""
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()


def open_gremlite_graph(path: Path, timeout_s: float = 30.0) -> SituationGraph:
    """The embedded situation graph in one SQLite file (created if missing).

    Like any sqlite3 connection it belongs to the thread that opened it: open one per worker thread;
    they share the file (WAL mode, so readers do not wait for a syncing writer)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        connection = SQLiteConnection(path, timeout=timeout_s)
    except BadDatabase as exc:
        raise GraphStoreError(
            f"{path} is an SQLite database that is not a gremlite graph; point the graph at another file"
        ) from exc
    connection.con.execute("PRAGMA journal_mode=WAL")
    g = traversal().with_remote(connection)
    return SituationGraph(g, commit=connection.commit, rollback=connection.rollback, close=connection.close)
