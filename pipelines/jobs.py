"""Jobs: the scheduled loop, webhook-triggered ingestion, and execution of decided actions."""

from __future__ import annotations

import dagster as dg

LOOP_JOB = "revloop_loop"
DEMO_JOB = "demo_world_advance"
WEBHOOK_JOB = "webhook_ingest"
EXECUTE_JOB = "execute_actions"

_REPORTING = ["ledger_heads", "observed_outcomes", "iceberg_tables", "outcome_report"]

demo_world_advance = dg.define_asset_job(
    DEMO_JOB,
    selection=dg.AssetSelection.assets("demo_world_day"),
    description="Advance the demo world by simulated days: new CRM and telemetry exports per tenant "
                "(new_exports_sensor then launches one revloop_loop run per tenant and day).",
)

revloop_loop = dg.define_asset_job(
    LOOP_JOB,
    selection=dg.AssetSelection.assets(
        "raw_snapshots", "normalized_snapshots", "signals", "situation_graph",
        "semantic_memory", "proposals", "policy_decisions", "review_queue", *_REPORTING),
    description="One tenant's day (a tenant|day partition): pull and normalize its snapshot, raise "
                "signals, update the world model, propose, classify by policy and queue for review.",
)

webhook_ingest = dg.define_asset_job(
    WEBHOOK_JOB,
    selection=dg.AssetSelection.assets(
        "signals", "situation_graph", "semantic_memory", "proposals", "policy_decisions",
        "review_queue", "ledger_heads"),
    config={"ops": {"signals": {"config": {"from_snapshots": False, "from_webhooks": True}}}},
    description="Turn new webhook inbox events into signals and carry them to the review queue.",
)

execute_actions = dg.define_asset_job(
    EXECUTE_JOB,
    selection=dg.AssetSelection.assets("action_executions", *_REPORTING),
    description="Execute automatic and approved proposals exactly once, then export and report.",
)
