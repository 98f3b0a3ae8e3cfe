"""What starts the loop. Demo source: the demo world's daily schedule, and a sensor that launches one
loop run per tenant and newly exported day (the tenant|day partition), keyed so a retried tick launches
nothing twice. Live CRMs: a schedule that runs each tenant's today partition (pull since the cursors).
The sensor registers every configured tenant as a partition in both cases."""

from __future__ import annotations

import dagster as dg

from pipelines.jobs import demo_world_advance, revloop_loop
from pipelines.partitions import RUN_DAY_TAG, RUN_TENANT_TAG, TENANTS, tenant_day_key
from pipelines.resources import DemoWorldResource, LakeResource, SourcesResource


def crm_pull_schedule(cron: str, tenants: list[str]) -> dg.ScheduleDefinition:
    """Live CRMs (HubSpot, Salesforce): one loop run per tenant for today's partition at every tick."""

    @dg.schedule(name="crm_pull", job=revloop_loop, cron_schedule=cron,
                 default_status=dg.DefaultScheduleStatus.RUNNING,
                 description="Pull each tenant's CRM changes since its cursors and run the loop on them.")
    def crm_pull(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        at = context.scheduled_execution_time
        day = at.date()
        return [dg.RunRequest(run_key=f"{tenant}|{at.isoformat()}", partition_key=tenant_day_key(tenant, day),
                              tags={RUN_TENANT_TAG: tenant, RUN_DAY_TAG: day.isoformat()})
                for tenant in tenants]

    return crm_pull


def demo_world_schedule(cron: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="demo_world_daily", job=demo_world_advance, cron_schedule=cron,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Advance the demo world one simulated day; new_exports_sensor runs the loop on it.")


@dg.sensor(job=revloop_loop, minimum_interval_seconds=5, default_status=dg.DefaultSensorStatus.RUNNING,
           description="Registers each configured tenant as a partition and launches revloop_loop for "
                       "every tenant|day whose export is not in the raw store yet, oldest first.")
def new_exports_sensor(context: dg.SensorEvaluationContext, demo_world: DemoWorldResource,
                       lake: LakeResource, sources: SourcesResource) -> dg.SensorResult | dg.SkipReason:
    known = set(context.instance.get_dynamic_partitions(TENANTS))
    missing = [t for t in demo_world.tenants if t not in known]
    requests = [] if sources.live else pending_loop_runs(demo_world, lake)
    if not requests and not missing:
        return dg.SkipReason("every exported tenant-day is pulled")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(TENANTS, missing)] if missing else [])


def pending_loop_runs(demo_world: DemoWorldResource, lake: LakeResource) -> list[dg.RunRequest]:
    """One run request per tenant and exported day without a raw snapshot, run_key = tenant|day."""
    connector, raw = demo_world.connector(), lake.raw()
    requests = []
    for tenant in demo_world.tenants:
        stored = {at.date() for at in raw.list_snapshots(tenant, connector.source)}
        for day in connector.export_days(tenant):
            if day not in stored:
                tags = {RUN_TENANT_TAG: tenant, RUN_DAY_TAG: day.isoformat()}
                requests.append(dg.RunRequest(run_key=f"{tenant}|{day.isoformat()}",
                                              partition_key=tenant_day_key(tenant, day), tags=tags))
    return sorted(requests, key=lambda r: (r.tags[RUN_DAY_TAG], r.tags[RUN_TENANT_TAG]))
