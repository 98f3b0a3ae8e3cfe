"""The difference between what a snapshot implies and what the graph holds: what sync must write."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from world_model.projection import EdgeKey, Scalar, SnapshotProjection

Props = dict[str, Scalar]
PropsDiff = tuple[Props, list[str]]  # (properties to set, property names to remove)


@dataclass
class SyncPlan:
    vertices_to_add: dict[str, tuple[str, Props]] = field(default_factory=dict)
    vertices_to_update: dict[str, PropsDiff] = field(default_factory=dict)
    vertices_to_drop: list[str] = field(default_factory=list)
    edges_to_add: dict[EdgeKey, Props] = field(default_factory=dict)
    edges_to_update: dict[EdgeKey, PropsDiff] = field(default_factory=dict)
    edges_to_drop: list[EdgeKey] = field(default_factory=list)


def diff_props(desired: Mapping[str, Scalar | None], existing: Mapping[str, Scalar]) -> PropsDiff:
    changed = {k: v for k, v in desired.items() if v is not None and existing.get(k) != v}
    cleared = sorted(k for k in existing if desired.get(k) is None)
    return changed, cleared


def plan_sync(
    projection: SnapshotProjection,
    existing_vertices: dict[str, tuple[str, Props]],
    existing_edges: dict[EdgeKey, Props],
    managed_labels: Collection[str],
) -> SyncPlan:
    """``managed_labels``: vertex labels the snapshot owns; other existing vertices are left alone."""
    plan = SyncPlan()
    for key, spec in projection.vertices.items():
        current = existing_vertices.get(key)
        if current is None:
            plan.vertices_to_add[key] = (spec.label, {k: v for k, v in spec.props.items() if v is not None})
            continue
        changed, cleared = diff_props(spec.props, current[1])
        if changed or cleared:
            plan.vertices_to_update[key] = (changed, cleared)
    plan.vertices_to_drop = sorted(
        key for key, (label, _props) in existing_vertices.items()
        if label in managed_labels and key not in projection.vertices
    )
    for edge, props in projection.edges.items():
        current_props = existing_edges.get(edge)
        if current_props is None:
            plan.edges_to_add[edge] = dict(props)
            continue
        changed, cleared = diff_props(props, current_props)
        if changed or cleared:
            plan.edges_to_update[edge] = (changed, cleared)
    plan.edges_to_drop = sorted(edge for edge in existing_edges if edge not in projection.edges)
    return plan
