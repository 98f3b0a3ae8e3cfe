"""World-model assets: the situation graph and the semantic memory, updated from new signals."""


import dagster as dg

from pipelines.assets.perception import normalized_snapshots, signals
from pipelines.partitions import run_tenants
from pipelines.resources import (
    DemoWorldResource,
    LakeResource,
    OperationalDbResource,
    SemanticMemoryResource,
    SituationGraphResource,
)


@dg.asset(group_name="world_model", deps=[normalized_snapshots, signals], kinds={"gremlin", "sqlite"})
def situation_graph(context: dg.AssetExecutionContext, demo_world: DemoWorldResource,
                    lake: LakeResource, db: OperationalDbResource,
                    graph: SituationGraphResource) -> dg.MaterializeResult:
    """Each tenant's accounts, contacts, champions, opportunities and signals as a graph (gremlite
    through gremlinpython; Neptune-safe traversals), synced idempotently from the latest snapshot."""
    from world_model.stage import update_situation_graph

    metadata: dict[str, object] = {}
    totals = {"vertices_upserted": 0, "edges_upserted": 0, "vertices_removed": 0,
              "edges_removed": 0, "signals_recorded": 0}
    for tenant in run_tenants(context, demo_world.tenants):
        report = update_situation_graph(graph.graph(), lake.normalized(), db.signals(), db.ledger(),
                                        tenant, synced=db.graph_sync_cursor())
        for key in totals:
            totals[key] += getattr(report, key)
        metadata[f"{tenant}_counts"] = dg.MetadataValue.json(report.counts)
    return dg.MaterializeResult(metadata={**totals, **metadata})


@dg.asset(group_name="world_model", deps=[signals], kinds={"lancedb"})
def semantic_memory(context: dg.AssetExecutionContext, demo_world: DemoWorldResource,
                    db: OperationalDbResource, memory: SemanticMemoryResource) -> dg.MaterializeResult:
    """Signal narratives embedded with a sentence-embedding model (loaded offline) into an
    embedded vector store, one namespace per tenant, for recall with citations."""
    from world_model.stage import remember_new_signals

    tenants = run_tenants(context, demo_world.tenants)
    remembered = {tenant: remember_new_signals(memory.memory(), db.signals(), db.ledger(), tenant)
                  for tenant in tenants}
    return dg.MaterializeResult(metadata={
        "documents_upserted": sum(remembered.values()),
        "documents_by_tenant": dg.MetadataValue.json(
            {t: memory.memory().count(t) for t in tenants}),
    })
