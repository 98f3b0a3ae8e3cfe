"""Every Gremlin traversal the situation graph runs, written once for gremlinpython.

Neptune-safe: no lambdas, no mergeV/mergeE (gremlite lacks them); upserts are
``fold().coalesce(unfold(), addV())``. Every lookup is ``has('key', k)`` without a label: the
tenant-scoped key is both the isolation boundary and the fast index path."""

from __future__ import annotations

from collections.abc import Iterable

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, P

from world_model.graph_schema import ABOUT, RAISED
from world_model.projection import EdgeKey, Scalar

Props = dict[str, Scalar]
_LOOKUP_CHUNK = 500


def _first_values(value_map: dict) -> Props:
    return {k: v[0] if isinstance(v, list) else v for k, v in value_map.items()}


def read_vertices(g: GraphTraversalSource, tenant: str) -> dict[str, tuple[str, Props]]:
    """Every vertex of a tenant: key -> (label, properties without key/tenant)."""
    rows = (
        g.V().has("tenant", tenant)
        .project("key", "label", "props").by("key").by(__.label()).by(__.valueMap())
        .toList()
    )
    out: dict[str, tuple[str, Props]] = {}
    for row in rows:
        props = _first_values(row["props"])
        props.pop("key", None)
        props.pop("tenant", None)
        out[row["key"]] = (row["label"], props)
    return out


def read_edges(g: GraphTraversalSource, tenant: str, labels: Iterable[str]) -> dict[EdgeKey, Props]:
    """The tenant's edges with the given labels: (label, out key, in key) -> properties."""
    rows = (
        g.V().has("tenant", tenant).outE(*labels)
        .project("label", "out", "in", "props")
        .by(__.label()).by(__.outV().values("key")).by(__.inV().values("key")).by(__.valueMap())
        .toList()
    )
    return {(r["label"], r["out"], r["in"]): _first_values(r["props"]) for r in rows}


def existing_keys(g: GraphTraversalSource, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        found.update(g.V().has("key", P.within(chunk)).values("key").toList())
    return found


def _set_vertex_props(t: GraphTraversal, props: Props) -> GraphTraversal:
    for name, value in props.items():
        t = t.property(Cardinality.single, name, value)
    return t


def upsert_vertex(g: GraphTraversalSource, tenant: str, key: str, label: str, props: Props) -> None:
    t = g.V().has("key", key).fold().coalesce(
        __.unfold(), __.addV(label).property("key", key).property("tenant", tenant)
    )
    _set_vertex_props(t, props).iterate()


def update_vertex(g: GraphTraversalSource, key: str, changed: Props, cleared: Iterable[str]) -> None:
    if changed:
        _set_vertex_props(g.V().has("key", key), changed).iterate()
    for name in cleared:
        g.V().has("key", key).properties(name).drop().iterate()


def drop_vertex(g: GraphTraversalSource, key: str) -> None:
    g.V().has("key", key).drop().iterate()


def upsert_edge(g: GraphTraversalSource, edge: EdgeKey, props: Props) -> None:
    """Adds the edge unless it exists; does nothing if either end is missing."""
    label, out_key, in_key = edge
    # Checked from the out side: in this schema out vertices have few edges, in vertices (a product
    # used by every account) may have thousands.
    t = (
        g.V().has("key", in_key).as_("in").V().has("key", out_key)
        .coalesce(__.outE(label).where(__.inV().as_("in")), __.addE(label).to("in"))
    )
    for name, value in props.items():
        t = t.property(name, value)
    t.iterate()


def update_edge(g: GraphTraversalSource, edge: EdgeKey, changed: Props, cleared: Iterable[str]) -> None:
    label, out_key, in_key = edge
    if changed:
        t = g.V().has("key", out_key).outE(label).where(__.inV().has("key", in_key))
        for name, value in changed.items():
            t = t.property(name, value)
        t.iterate()
    for name in cleared:
        g.V().has("key", out_key).outE(label).where(__.inV().has("key", in_key)).properties(name).drop() \
            .iterate()


def drop_edge(g: GraphTraversalSource, edge: EdgeKey) -> None:
    label, out_key, in_key = edge
    g.V().has("key", out_key).outE(label).where(__.inV().has("key", in_key)).drop().iterate()


def vertex_props(g: GraphTraversalSource, key: str) -> Props | None:
    rows = g.V().has("key", key).valueMap().toList()
    return _first_values(rows[0]) if rows else None


def neighbour_props(
    g: GraphTraversalSource, key: str, tenant: str, edge_label: str, inbound: bool
) -> list[Props]:
    """Properties of the vertices one ``edge_label`` hop from ``key`` (re-checked to be the tenant's)."""
    start = g.V().has("key", key)
    hop = start.in_(edge_label) if inbound else start.out(edge_label)
    return [_first_values(row) for row in hop.has("tenant", tenant).valueMap().toList()]


def raised_signals(g: GraphTraversalSource, account_key: str, tenant: str) -> list[dict]:
    """Signals raised on an account, with the keys of the entities they are about."""
    return (
        g.V().has("key", account_key).in_(RAISED).has("tenant", tenant)
        .project("key", "observed_at", "about")
        .by("key").by("observed_at").by(__.out(ABOUT).has("tenant", tenant).values("key").fold())
        .toList()
    )


def labels_of_tenant(g: GraphTraversalSource, tenant: str) -> tuple[list[str], list[str]]:
    """Vertex labels and out-edge labels of every vertex of the tenant (one entry per element)."""
    vertices = g.V().has("tenant", tenant).label().toList()
    edges = g.V().has("tenant", tenant).outE().label().toList()
    return vertices, edges
