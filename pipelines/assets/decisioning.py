"""Decisioning assets: proposals from the decision agent, classified by Cedar policy."""


from collections import Counter

import dagster as dg

from pipelines.assets.world_model import semantic_memory, situation_graph
from pipelines.partitions import run_tenants
from pipelines.resources import (
    DecisionAgentResource,
    DemoWorldResource,
    LakeResource,
    OperationalDbResource,
    PolicyResource,
    SemanticMemoryResource,
    SituationGraphResource,
)


@dg.asset(group_name="decisioning", deps=[situation_graph, semantic_memory], kinds={"python"})
def proposals(context: dg.AssetExecutionContext, demo_world: DemoWorldResource,
              db: OperationalDbResource, graph: SituationGraphResource,
              memory: SemanticMemoryResource, lake: LakeResource,
              agent: DecisionAgentResource) -> dg.MaterializeResult:
    """Structured proposals from the decision agent (the deterministic playbooks, or Bedrock when
    configured), one per play triggered by new
    signals, each with rationale, evidence (signals, graph paths, memory hits), confidence and risk
    tier. Thin or conflicting evidence makes the agent abstain, and the abstention is recorded."""
    from decisioning.stage import propose_for_new_signals

    decider = agent.build(db, graph.graph(), memory.memory(), lake)
    created, abstained = [], []
    for tenant in run_tenants(context, demo_world.tenants):
        outcome = propose_for_new_signals(decider, graph.graph(), memory.memory(), db.signals(),
                                          db.ledger(), tenant)
        created.extend(db.proposals().add_proposals(outcome.proposals))
        abstained.extend(outcome.abstentions)
    by_type = Counter(str(p.action_type) for p in created)
    return dg.MaterializeResult(metadata={
        "agent": f"{decider.name} {decider.version}",
        "new_proposals": len(created),
        "proposals_by_action_type": dg.MetadataValue.json(dict(sorted(by_type.items()))),
        "abstentions": len(abstained),
        "abstention_reasons": dg.MetadataValue.json(dict(Counter(a.reason for a in abstained))),
    })


@dg.asset(group_name="decisioning", deps=[proposals], kinds={"cedar"})
def policy_decisions(context: dg.AssetExecutionContext, db: OperationalDbResource,
                     policy: PolicyResource) -> dg.MaterializeResult:
    """Every new proposal classified by the Cedar policies in decisioning/policies/: automatic,
    needs approval, or forbidden (default deny, forbid wins, errors fail closed). Each decision
    is recorded in the ledger with the policy version and the determining policies."""
    from actions.stage import classify_pending_proposals

    engine = policy.engine()
    decisions = classify_pending_proposals(db.proposals(), engine, db.ledger())
    by_outcome = Counter(str(d.outcome) for d in decisions)
    return dg.MaterializeResult(metadata={
        "decisions": len(decisions),
        "by_outcome": dg.MetadataValue.json(dict(sorted(by_outcome.items()))),
        "policy_errors": sum(1 for d in decisions if d.errors),
        "policy_version": engine.policy_version,
    })
