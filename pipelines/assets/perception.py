"""Perception assets: the demo world's day, raw snapshots, normalized tables, signals.

Raw and normalized snapshots are partitioned by tenant × day (pipelines/partitions.py): a run pulls and
normalizes one tenant's day, and a backfill over a range re-runs exactly those partitions (raw
snapshots are immutable, so re-pulling a stored day is a no-op; a snapshot held by the quality gate
can be re-checked after a fix). Signals are a continuous asset over the snapshots that passed the gate:
each run diffs the tenant's next good snapshot against its last good one."""


from collections import Counter
from datetime import UTC, datetime

import dagster as dg

from pipelines.partitions import partition_of, run_tenants, tenant_day_partitions
from pipelines.resources import (
    DemoWorldResource,
    LakeResource,
    OperationalDbResource,
    SignalRulesResource,
    SourcesResource,
)


class DemoWorldConfig(dg.Config):
    days: int = 1
    """How many simulated days to advance in this run."""


@dg.asset(group_name="perception", kinds={"python", "sqlite"})
def demo_world_day(context: dg.AssetExecutionContext, config: DemoWorldConfig,
                   demo_world: DemoWorldResource) -> dg.MaterializeResult:
    """The demo world advanced by one (or more) simulated days: CRM and telemetry exports written,
    ground-truth events (usage drop, champion leaves, deal slips, ...) injected and recorded."""
    world = demo_world.world()
    events = []
    for _ in range(config.days):
        events.extend(world.advance_day())
        context.log.info(f"demo world advanced to {world.current_day}")
    by_kind = Counter(str(e.kind) for e in events)
    return dg.MaterializeResult(metadata={
        "simulated_day": str(world.current_day),
        "tenants": len(world.tenants),
        "ground_truth_events": len(events),
        "events_by_kind": dg.MetadataValue.json(dict(sorted(by_kind.items()))),
    })


@dg.asset(group_name="perception", deps=[demo_world_day], kinds={"parquet"},
          partitions_def=tenant_day_partitions)
def raw_snapshots(context: dg.AssetExecutionContext, demo_world: DemoWorldResource,
                  lake: LakeResource, db: OperationalDbResource,
                  sources: SourcesResource) -> dg.MaterializeResult:
    """Immutable raw snapshots pulled from the tenant's CRM for the partition's day, addressed by
    (tenant, source, object, pulled_at) in the lake. Demo source: that day's export (a day already
    stored is not pulled again). HubSpot / Salesforce: today's partition pulls what changed since the
    cursors; a past day cannot be pulled from a live CRM, so its run re-processes what was stored."""
    from perception.stage import pull_live_snapshot, pull_new_snapshots

    tenant, day = partition_of(context)
    if sources.live:
        today = datetime.now(UTC).date()
        if day == today:
            reports = [pull_live_snapshot(sources.connector(tenant), lake.raw(), sources.cursors(),
                                          db.ledger(), tenant)]
        else:
            reports = []
            context.log.info(f"{tenant} {day}: a live CRM is pulled only for today ({today}); the "
                             "snapshots stored that day are processed again")
    else:
        reports = pull_new_snapshots(demo_world.connector(), lake.raw(), db.ledger(), tenant, day=day)
    stored = [at for at in lake.raw().list_snapshots(tenant, sources.crm_source) if at.date() == day]
    if not reports and not sources.live:
        context.log.info(f"{tenant} {day}: " + ("already stored" if stored else "no export for this day"))
    rows: Counter[str] = Counter()
    for report in reports:
        rows.update(report.row_counts)
    return dg.MaterializeResult(metadata={
        "tenant": tenant,
        "day": day.isoformat(),
        "snapshots_pulled": len(reports),
        "snapshots_stored_for_day": len(stored),
        "rows_by_object": dg.MetadataValue.json(dict(rows)),
        "snapshots": dg.MetadataValue.md(
            "\n".join(f"- `{r.tenant}` {r.pulled_at.isoformat()}: {r.uris[0] if r.uris else ''}"
                      for r in reports) or "none"),
    })


@dg.asset(group_name="perception", deps=[raw_snapshots], kinds={"polars", "parquet"},
          partitions_def=tenant_day_partitions)
def normalized_snapshots(context: dg.AssetExecutionContext, lake: LakeResource, db: OperationalDbResource,
                         sources: SourcesResource) -> dg.MaterializeResult:
    """The partition's raw snapshots normalized with polars to the canonical schemas
    (perception/README.md). Malformed records are quarantined with a reason, never dropped silently.
    Each new snapshot then goes through the quality gate (great-expectations suites per canonical
    table); a snapshot that fails is held back from signals, for its tenant only."""
    from perception.quality_gate import check_new_snapshots
    from perception.stage import normalize_new_snapshots

    tenant, day = partition_of(context)
    reports = normalize_new_snapshots(lake.raw(), lake.normalized(), db.ledger(), tenant,
                                      source=sources.crm_source, day=day)
    gate = check_new_snapshots(lake.normalized(), db.quality_gate(), [tenant])
    for verdict in gate.held:
        context.log.warning(f"holding back tenant {verdict.tenant} snapshot "
                            f"{verdict.pulled_at.isoformat()} from signals: {verdict.reason()}")
    rows: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for report in reports:
        rows.update(report.row_counts)
        reasons.update(report.quarantine_reasons)
    return dg.MaterializeResult(metadata={
        "tenant": tenant,
        "day": day.isoformat(),
        "snapshots_normalized": len(reports),
        "rows_by_table": dg.MetadataValue.json(dict(rows)),
        "quarantined_rows": sum(reasons.values()),
        "quarantine_reasons": dg.MetadataValue.json(dict(reasons)),
        "quarantine_preview": dg.MetadataValue.md(
            "\n".join(line for r in reports for line in r.quarantine_preview) or "none"),
        "snapshots_checked": len(gate.verdicts),
        "snapshots_held": dg.MetadataValue.md(
            "\n".join(f"- `{v.tenant}` {v.pulled_at.isoformat()}: {v.reason()}" for v in gate.held)
            or "none"),
    })


class SignalsConfig(dg.Config):
    from_snapshots: bool = True
    """Diff consecutive snapshots into signals."""
    from_webhooks: bool = True
    """Turn pending webhook inbox events into signals."""


@dg.asset(group_name="perception", deps=[normalized_snapshots], kinds={"polars", "sqlite"})
def signals(context: dg.AssetExecutionContext, config: SignalsConfig, demo_world: DemoWorldResource,
            lake: LakeResource, db: OperationalDbResource,
            signal_rules: SignalRulesResource) -> dg.MaterializeResult:
    """Signals: what changed and matters (usage drop, champion departed, deal slipped, stage
    regression, expansion intent), from snapshot diffs and webhook events; deduplicated so a
    condition is raised once."""
    from connectors.webhooks.inbox import WebhookInbox
    from perception.stage import sense_snapshot_signals
    from perception.webhook_stage import sense_inbox_events, sense_received_events
    from pipelines.sensors import webhook_run_scope

    thresholds = signal_rules.thresholds()
    new = []
    if config.from_snapshots:
        for tenant in run_tenants(context, demo_world.tenants):
            new.extend(sense_snapshot_signals(lake.normalized(), db.signals(), db.sense_cursor(),
                                              db.ledger(), tenant, gate=db.quality_gate(),
                                              thresholds=thresholds))
    dead = 0
    if config.from_webhooks:
        inbox = db.inbox()
        stages = db.hubspot_stage_labels().get
        scope = webhook_run_scope(context.run.tags)
        if isinstance(inbox, WebhookInbox):
            reports = [sense_inbox_events(inbox, lake.normalized(), db.signals(), db.ledger(), tenant,
                                          through_id=scope.through_id if scope else None,
                                          stage_labels=stages)
                       for tenant in ([scope.tenant] if scope else run_tenants(context, demo_world.tenants))]
        else:  # a queue (SQS): whatever is received, every tenant's
            reports = sense_received_events(inbox, lake.normalized(), db.signals(), db.ledger(),
                                            stage_labels=stages)
        for report in reports:
            new.extend(report.signals)
            dead += report.dead_lettered
    by_kind = Counter(str(s.kind) for s in new)
    return dg.MaterializeResult(metadata={
        "new_signals": len(new),
        "signals_by_kind": dg.MetadataValue.json(dict(sorted(by_kind.items()))),
        "webhook_events_dead_lettered": dead,
        "total_signals": sum(db.signals().counts_by_kind().values()),
        "preview": dg.MetadataValue.md(
            "\n".join(f"- `{s.tenant}` **{s.kind}** {s.narrative}" for s in new[:15]) or "none"),
    })
