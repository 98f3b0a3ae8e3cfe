"""Deal stage history: each stage an opportunity enters becomes an Event, kept while the deal exists.

Snapshots carry only the current stage (and ``stage_changed_on``), so history is what the graph saw
from sync to sync. Pure: it extends the snapshot's projection with the events to keep and to add."""

from __future__ import annotations

from world_model.graph_schema import ACCOUNT, EVENT, OCCURRED_AT, ON_OPPORTUNITY, OPPORTUNITY, vertex_key
from world_model.projection import Scalar, SnapshotProjection, VertexSpec

STAGE_CHANGE = "stage_change"
Props = dict[str, Scalar]


def stage_event_id(opportunity_id: str, sequence: int) -> str:
    return f"stage:{opportunity_id}:{sequence}"


def add_stage_history(tenant: str, projection: SnapshotProjection,
                      existing_vertices: dict[str, tuple[str, Props]]) -> int:
    """Keep the stage events of opportunities still in the snapshot; add one for every deal that is new
    or whose stage differs from the graph's. Returns how many stage events are new."""
    history: dict[str, list[tuple[str, Props]]] = {}
    for key, (label, props) in existing_vertices.items():
        if label == EVENT and props.get("event_type") == STAGE_CHANGE:
            history.setdefault(str(props.get("opportunity_id")), []).append((key, props))

    added = 0
    for opp_key, spec in list(projection.vertices.items()):
        if spec.label != OPPORTUNITY:
            continue
        opportunity_id = str(spec.props["opportunity_id"])
        events = sorted(history.get(opportunity_id, []), key=lambda e: int(e[1].get("sequence", 0)))
        for key, props in events:
            _link(tenant, projection, key, dict(props), opp_key)
        before = existing_vertices.get(opp_key)
        previous = before[1].get("stage") if before else None
        stage = spec.props.get("stage")
        if before is not None and previous == stage:
            continue
        sequence = int(events[-1][1].get("sequence", 0)) + 1 if events else 1
        props: dict[str, Scalar | None] = {
            "event_type": STAGE_CHANGE, "opportunity_id": opportunity_id,
            "account_id": spec.props.get("account_id"), "from_stage": previous, "to_stage": stage,
            "occurred_on": spec.props.get("stage_changed_on"), "sequence": sequence,
        }
        key = vertex_key(tenant, EVENT, stage_event_id(opportunity_id, sequence))
        _link(tenant, projection, key, props, opp_key)
        added += 1
    return added


def _link(tenant: str, projection: SnapshotProjection, key: str, props: dict[str, Scalar | None],
          opp_key: str) -> None:
    projection.vertices[key] = VertexSpec(EVENT, props)
    projection.edges[(ON_OPPORTUNITY, key, opp_key)] = {}
    account_id = props.get("account_id")
    if account_id:
        account = vertex_key(tenant, ACCOUNT, str(account_id))
        if account in projection.vertices:
            projection.edges[(OCCURRED_AT, key, account)] = {}
