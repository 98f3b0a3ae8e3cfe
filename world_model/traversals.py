"""The Gremlin reads the situation graph's writes rest on, written once for gremlinpython (writes are
in graph_writes.py, the agent's queries in queries.py).

Neptune-safe: no lambdas. Every lookup is ``has('key', k)`` without a label: the tenant-scoped key is
both the isolation boundary and the fast index path."""

from __future__ import annotations

from collections.abc import Iterable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import P

from world_model.graph_schema import ABOUT, RAISED
from world_model.projection import EdgeKey
from world_model.views import Props
from world_model.views import first_values as _first_values

_LOOKUP_CHUNK = 500


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


def props_by_key(g: GraphTraversalSource, keys: list[str]) -> dict[str, Props]:
    """Properties (without key/tenant) of those of ``keys`` that exist."""
    out: dict[str, Props] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start:start + _LOOKUP_CHUNK]
        for row in g.V().has("key", P.within(chunk)).valueMap().toList():
            props = _first_values(row)
            key = str(props.pop("key"))
            props.pop("tenant", None)
            out[key] = props
    return out


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
