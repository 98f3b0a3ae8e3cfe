"""Batched, idempotent graph writes: many upserts per traversal, written once for gremlinpython.

Each write is an anonymous traversal run inside ``sideEffect(...)`` of one anchor traversal, so a
write that matches nothing (an edge whose end is missing) cannot stop the ones after it, and a batch
of ``batch_size`` writes costs one request. Neptune-safe: no lambdas, no mergeV/mergeE; vertex upserts
are ``V().has('key', k).fold().coalesce(unfold(), addV(...))``."""

from __future__ import annotations

from collections.abc import Iterable

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality

from world_model.graph_schema import TENANT, tenant_key
from world_model.projection import EdgeKey, Scalar

Props = dict[str, Scalar]
DEFAULT_BATCH_SIZE = 50


class GraphWriter:
    """Buffers writes for one tenant and sends them ``batch_size`` per traversal; ``flush()`` sends the rest.

    ``new_vertex_cardinality`` is the cardinality used for the properties of a vertex just created: any
    cardinality means the same on a vertex without properties, and gremlite's ``list`` skips a lookup per
    property (Neptune accepts only ``single`` and ``set``)."""

    def __init__(self, g: GraphTraversalSource, tenant: str, batch_size: int = DEFAULT_BATCH_SIZE,
                 new_vertex_cardinality: Cardinality = Cardinality.single) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._g = g
        self._tenant = tenant
        self._batch_size = batch_size
        self._new = new_vertex_cardinality
        self._pending: list[GraphTraversal] = []
        self.requests = 0

    def add_vertex(self, key: str, label: str, props: Props, known_absent: bool = False) -> None:
        """Create the vertex with ``props`` unless a vertex with ``key`` exists (then nothing changes).

        ``known_absent``: the caller read, under the write lock it still holds, that no such vertex
        exists (gremlite's BEGIN IMMEDIATE sync), so the existence check is skipped."""
        created = __.addV(label).property(self._new, "key", key).property(self._new, "tenant", self._tenant)
        for name, value in props.items():
            created = created.property(self._new, name, value)
        # The tenant vertex is created by every batch's anchor (flush), so it is always checked.
        unchecked = known_absent and key != tenant_key(self._tenant)
        self._write(created if unchecked else __.V().has("key", key).fold().coalesce(__.unfold(), created))

    def update_vertex(self, key: str, changed: Props, cleared: Iterable[str] = ()) -> None:
        t = __.V().has("key", key)
        for name, value in changed.items():
            t = t.property(Cardinality.single, name, value)
        names = list(cleared)
        if names:
            t = t.sideEffect(__.properties(*names).drop())
        self._write(t)

    def drop_vertex(self, key: str) -> None:
        self._write(__.V().has("key", key).drop())

    def add_edge(self, edge: EdgeKey, props: Props, known_absent: bool = False) -> None:
        """Create the edge unless it exists; nothing happens if either end is missing.
        ``known_absent`` as for :meth:`add_vertex`."""
        label, out_key, in_key = edge
        mark = f"in{len(self._pending)}"
        ends = __.V().has("key", in_key).as_(mark).V().has("key", out_key)
        if known_absent:
            t = ends.addE(label).to(mark)
        else:
            # Checked from the out side: out vertices have few edges here, in vertices (a product every
            # account uses) may have thousands.
            t = ends.coalesce(__.outE(label).where(__.inV().as_(mark)), __.addE(label).to(mark))
        for name, value in props.items():
            t = t.property(name, value)
        self._write(t)

    def update_edge(self, edge: EdgeKey, changed: Props, cleared: Iterable[str] = ()) -> None:
        t = _edge(edge)
        for name, value in changed.items():
            t = t.property(name, value)
        names = list(cleared)
        if names:
            t = t.sideEffect(__.properties(*names).drop())
        self._write(t)

    def drop_edge(self, edge: EdgeKey) -> None:
        self._write(_edge(edge).drop())

    def flush(self) -> None:
        if not self._pending:
            return
        key = tenant_key(self._tenant)
        anchor = self._g.V().has("key", key).fold().coalesce(
            __.unfold(),
            __.addV(TENANT).property(self._new, "key", key).property(self._new, "tenant", self._tenant)
            .property(self._new, "name", self._tenant),
        )
        for write in self._pending:
            anchor = anchor.sideEffect(write)
        self._pending = []
        self.requests += 1
        anchor.iterate()

    def _write(self, write: GraphTraversal) -> None:
        self._pending.append(write)
        if len(self._pending) >= self._batch_size:
            self.flush()


def _edge(edge: EdgeKey) -> GraphTraversal:
    label, out_key, in_key = edge
    return __.V().has("key", out_key).outE(label).where(__.inV().has("key", in_key))
