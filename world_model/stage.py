"""World-model stages as the loop runs them: sync the graph, remember new signals. Both ledgered."""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.store import Ledger
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import TenantWatermark
from world_model.documents import signal_document
from world_model.graph import SituationGraph
from world_model.memory import SemanticMemory

GRAPH_STAGE = "graph"
MEMORY_STAGE = "memory"


@dataclass(frozen=True)
class GraphStageReport:
    vertices_upserted: int = 0
    edges_upserted: int = 0
    vertices_removed: int = 0
    edges_removed: int = 0
    signals_recorded: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    snapshot_unchanged: bool = False


class GraphSyncCursor(TenantWatermark):
    """Per tenant, the normalized snapshot the graph was last synced to: a run with no newer snapshot
    (a webhook run) skips re-reading the tenant's graph to find nothing to write."""

    def __init__(self, url: str) -> None:
        super().__init__(url, "world_model_graph_synced", "synced_to")


def update_situation_graph(graph: SituationGraph, normalized_store: NormalizedSnapshotStore,
                           signal_store: SignalStore, ledger: Ledger, tenant: str,
                           synced: GraphSyncCursor | None = None) -> GraphStageReport:
    """Make the graph match the tenant's latest snapshot (only differences are written), then link
    the signals it has not seen yet. With ``synced``, a snapshot the graph was already synced to is
    not synced again."""
    latest = normalized_store.latest(tenant)
    unchanged = latest is not None and synced is not None and synced.get(tenant) == latest.pulled_at
    stats = graph.sync_snapshot(tenant, latest.tables) if latest is not None and not unchanged else None
    if stats is not None and synced is not None and latest is not None:
        synced.set(tenant, latest.pulled_at)
    pending = signal_store.unprocessed(GRAPH_STAGE, tenant)
    linked = graph.record_signals(pending) if pending else 0
    signal_store.mark_processed(GRAPH_STAGE, [s.signal_id for s in pending])
    report = GraphStageReport(
        vertices_upserted=stats.vertices_upserted if stats else 0,
        edges_upserted=stats.edges_upserted if stats else 0,
        vertices_removed=stats.vertices_removed if stats else 0,
        edges_removed=stats.edges_removed if stats else 0,
        signals_recorded=linked, counts=graph.counts(tenant), snapshot_unchanged=unchanged)
    ledger.append(tenant, "graph.synced", "world_model:graph", {
        "snapshot": latest.pulled_at.isoformat() if latest else None,
        "vertices_upserted": report.vertices_upserted, "edges_upserted": report.edges_upserted,
        "vertices_removed": report.vertices_removed, "edges_removed": report.edges_removed,
        "signals_recorded": linked, "snapshot_unchanged": unchanged})
    return report


def remember_new_signals(memory: SemanticMemory, signal_store: SignalStore, ledger: Ledger,
                         tenant: str) -> int:
    """Embed the narratives of signals not yet in memory (idempotent on the signal id)."""
    pending = signal_store.unprocessed(MEMORY_STAGE, tenant)
    if not pending:
        return 0
    upserted = memory.upsert([signal_document(s) for s in pending])
    signal_store.mark_processed(MEMORY_STAGE, [s.signal_id for s in pending])
    ledger.append(tenant, "memory.upserted", "world_model:memory",
                  {"documents": [s.signal_id for s in pending]})
    return upserted
