"""Action assets: the review queue humans work from, and the executors that act exactly once."""


from collections import Counter

import dagster as dg

from pipelines.assets.decisioning import policy_decisions
from pipelines.resources import DemoWorldResource, ExecutorResource, OperationalDbResource


class ReviewQueueConfig(dg.Config):
    approval_ttl_hours: float = 72.0
    """Pending proposals older than this expire (they can no longer be approved)."""


@dg.asset(group_name="actions", deps=[policy_decisions], kinds={"sqlite"})
def review_queue(context: dg.AssetExecutionContext, config: ReviewQueueConfig,
                 demo_world: DemoWorldResource, db: OperationalDbResource) -> dg.MaterializeResult:
    """Proposals waiting for a human decision in the review UI, per tenant; overdue ones expire."""
    store = db.proposals()
    expired = db.review_service(config.approval_ttl_hours).expire_overdue()
    per_tenant = {tenant: store.status_counts(tenant) for tenant in demo_world.tenants}
    pending = {tenant: counts.get("needs_approval", 0) for tenant, counts in per_tenant.items()}
    return dg.MaterializeResult(metadata={
        "pending_review": sum(pending.values()),
        "pending_by_tenant": dg.MetadataValue.json(pending),
        "proposals_by_status": dg.MetadataValue.json(per_tenant),
        "expired_now": expired,
    })


@dg.asset(group_name="actions", deps=[review_queue], kinds={"python"})
def action_executions(context: dg.AssetExecutionContext, db: OperationalDbResource,
                      demo_world: DemoWorldResource,
                      executors: ExecutorResource) -> dg.MaterializeResult:
    """Automatic and approved proposals executed exactly once (idempotency keys): CRM write-back,
    notifications to the outbox, meeting-brief drafts. Every attempt and result is in the ledger."""
    results = executors.executor(db, demo_world).execute_ready()
    by_status = Counter(f"{r.action_type}:{r.status}" for r in results)
    return dg.MaterializeResult(metadata={
        "actions_executed": len(results),
        "by_type_and_status": dg.MetadataValue.json(dict(sorted(by_status.items()))),
        "failures": dg.MetadataValue.md(
            "\n".join(f"- `{r.proposal_id}` {r.error}" for r in results if r.error) or "none"),
    })
