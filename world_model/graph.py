"""The situation graph: one tenant-scoped property graph of accounts, people, deals, products, signals.

Written once against a gremlinpython ``GraphTraversalSource`` plus a commit callable, so the same
traversals serve gremlite (embedded, SQLite) and Amazon Neptune."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import polars as pl
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import Cardinality
from gremlite import SQLiteConnection
from gremlite.errors import BadDatabase

from perception.contracts import Signal
from world_model import traversals as tv
from world_model.account_context import build_account_context
from world_model.contracts import (
    AccountContext,
    AccountNeighbourhood,
    BuyingCommittee,
    EventView,
    GraphSyncStats,
    OpportunityHistory,
    RiskView,
)
from world_model.graph_schema import (
    ABOUT,
    ACCOUNT,
    AFFECTS,
    EDGE_LABELS,
    ENTITY_LABELS,
    EVIDENCES,
    RAISED,
    RISK,
    SIGNAL,
    SNAPSHOT_EDGE_LABELS,
    SNAPSHOT_VERTEX_LABELS,
    VERTEX_LABELS,
    vertex_key,
)
from world_model.graph_writes import DEFAULT_BATCH_SIZE, GraphWriter
from world_model.projection import project_snapshot, utc_iso
from world_model.queries import GraphQueries
from world_model.risks import plan_risks
from world_model.stage_history import add_stage_history
from world_model.sync_plan import diff_props, plan_sync
from world_model.tenancy import validate_tenant


class GraphStoreError(RuntimeError):
    """The graph store cannot be opened or used as a situation graph."""


class SituationGraph:
    """Tenant-scoped reads and idempotent writes of the situation graph.

    Each write method runs in one transaction: it commits at the end, or rolls back and re-raises.
    ``begin`` (optional) opens a transaction and returns the traversal source bound to it (remote
    servers: a session); without it writes go through ``g`` and ``commit`` ends the transaction.
    Writes are sent ``batch_size`` per traversal."""

    def __init__(
        self,
        g: GraphTraversalSource,
        commit: Callable[[], None],
        rollback: Callable[[], None] | None = None,
        close: Callable[[], None] | None = None,
        recent_signal_limit: int = 20,
        begin: Callable[[], GraphTraversalSource] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        new_vertex_cardinality: Cardinality = Cardinality.single,
        plan_is_authoritative: bool = False,
    ) -> None:
        self._g = g
        self._commit = commit
        self._rollback = rollback
        self._close = close
        self._recent_signal_limit = recent_signal_limit
        self._begin = begin
        self._batch_size = batch_size
        self._new_vertex_cardinality = new_vertex_cardinality
        # True when ``begin`` takes the write lock before sync reads the graph (gremlite): nothing can
        # add what the plan saw missing, so creates skip their existence checks.
        self._authoritative = plan_is_authoritative and begin is not None
        self._queries = GraphQueries(g)

    def sync_snapshot(self, tenant: str, tables: dict[str, pl.DataFrame]) -> GraphSyncStats:
        """Make the tenant's accounts, contacts, opportunities, products and activities match one snapshot.

        Only differences are written: a record gone from the snapshot is removed, a champion who
        departed loses CHAMPION_OF, a deal entering a stage gains a stage-change Event, and syncing
        the same snapshot twice writes nothing."""
        projection = project_snapshot(tenant, tables)
        g = self._start()
        try:
            existing = tv.read_vertices(g, tenant)
            add_stage_history(tenant, projection, existing)
            plan = plan_sync(projection, existing, tv.read_edges(g, tenant, SNAPSHOT_EDGE_LABELS),
                             SNAPSHOT_VERTEX_LABELS)
            write = self._writer(g, tenant)
            for edge in plan.edges_to_drop:
                write.drop_edge(edge)
            for key in plan.vertices_to_drop:
                write.drop_vertex(key)
            for key, (label, props) in plan.vertices_to_add.items():
                write.add_vertex(key, label, props, known_absent=self._authoritative)
            for key, (changed, cleared) in plan.vertices_to_update.items():
                write.update_vertex(key, changed, cleared)
            for edge, props in plan.edges_to_add.items():
                write.add_edge(edge, props, known_absent=self._authoritative)
            for edge, (changed, cleared) in plan.edges_to_update.items():
                write.update_edge(edge, changed, cleared)
            write.flush()
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
        """Add each signal with RAISED (to its account) and ABOUT (to its entity) edges, and the Risk it
        evidences (EVIDENCES, AFFECTS).

        Returns how many signals were new. Re-recording adds nothing, but links edges whose target
        vertex has appeared since (an edge to a vertex that does not exist is not created)."""
        unique = {vertex_key(s.tenant, SIGNAL, s.signal_id): s for s in signals}
        by_tenant: dict[str, dict[str, Signal]] = {}
        for key, signal in unique.items():
            by_tenant.setdefault(signal.tenant, {})[key] = signal
        g = self._start()
        new = 0
        try:
            for tenant, batch in by_tenant.items():
                new += self._record_tenant_signals(g, tenant, batch)
            self._commit()
        except BaseException:
            self._abort()
            raise
        return new

    def _record_tenant_signals(self, g: GraphTraversalSource, tenant: str, batch: dict[str, Signal]) -> int:
        known = tv.existing_keys(g, list(batch))
        write = self._writer(g, tenant)
        for key, signal in batch.items():
            if key not in known:
                write.add_vertex(key, SIGNAL, _signal_props(signal))
            write.add_edge((RAISED, key, vertex_key(tenant, ACCOUNT, signal.account_id)), {})
            label = ENTITY_LABELS.get(signal.entity_type)
            if label is not None:
                write.add_edge((ABOUT, key, vertex_key(tenant, label, signal.entity_id)), {})
        risk_keys = list({r.key for r in plan_risks(batch.items(), {})})
        stored = tv.props_by_key(g, risk_keys)
        for risk in plan_risks(batch.items(), stored):
            if risk.key in stored:
                changed, _ = diff_props(risk.props, stored[risk.key])
                if changed:
                    write.update_vertex(risk.key, changed)
            else:
                write.add_vertex(risk.key, RISK, risk.props)
            for signal_key in risk.signal_keys:
                write.add_edge((EVIDENCES, signal_key, risk.key), {})
            for target in risk.affects:
                write.add_edge((AFFECTS, risk.key, target), {})
        write.flush()
        return len(batch) - len(known)

    def account_context(self, tenant: str, account_id: str) -> AccountContext:
        """The account's contacts, champions, open opportunities and recent signals, with the paths walked.

        An account the graph does not hold yields ``name=None`` and empty lists (not an error): a
        signal may arrive before the snapshot that introduces its account."""
        validate_tenant(tenant)
        return build_account_context(self._g, tenant, account_id, self._recent_signal_limit)

    def neighbourhood(self, tenant: str, account_id: str) -> AccountNeighbourhood:
        return self._queries.neighbourhood(tenant, account_id)

    def buying_committee(self, tenant: str, account_id: str) -> BuyingCommittee:
        return self._queries.buying_committee(tenant, account_id)

    def open_opportunities(self, tenant: str, account_id: str) -> list[OpportunityHistory]:
        return self._queries.open_opportunities(tenant, account_id)

    def risks(self, tenant: str, account_id: str) -> list[RiskView]:
        return self._queries.risks(tenant, account_id)

    def recent_events(self, tenant: str, account_id: str, limit: int = 20) -> list[EventView]:
        return self._queries.recent_events(tenant, account_id, limit)

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

    def _start(self) -> GraphTraversalSource:
        return self._begin() if self._begin is not None else self._g

    def _writer(self, g: GraphTraversalSource, tenant: str) -> GraphWriter:
        return GraphWriter(g, tenant, self._batch_size, self._new_vertex_cardinality)

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
        "observed_at": utc_iso(signal.observed_at),
        "source": signal.source,
        "dedupe_key": signal.dedupe_key,
        "narrative": signal.narrative,
    }
    return {k: v for k, v in props.items() if v is not None}


# gremlite runs each write in this process: small batches keep its per-traversal bookkeeping cheap
# (measured: 20 beats 50 and 200); Neptune's round trips want DEFAULT_BATCH_SIZE.
GREMLITE_BATCH_SIZE = 20


def open_gremlite_graph(path: Path, timeout_s: float = 30.0, batch_size: int = GREMLITE_BATCH_SIZE
                        ) -> SituationGraph:
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
    # list cardinality for a new vertex's properties: same meaning, one lookup less per property.

    def begin() -> GraphTraversalSource:
        # Take the write lock before sync reads what exists, so its plan cannot go stale.
        if not connection.con.in_transaction:
            connection.con.execute("BEGIN IMMEDIATE")
        return g

    return SituationGraph(g, commit=connection.commit, rollback=connection.rollback, close=connection.close,
                          begin=begin, batch_size=batch_size, new_vertex_cardinality=Cardinality.list_,
                          plan_is_authoritative=True)
