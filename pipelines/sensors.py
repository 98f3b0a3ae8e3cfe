"""Sensors: webhook inbox -> ingestion runs; new decisions -> executor runs. Both keep a cursor and
key their runs so a retried tick never launches the same work twice."""

from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

from pipelines.jobs import execute_actions, webhook_ingest
from pipelines.partitions import RUN_TENANT_TAG
from pipelines.resources import OperationalDbResource

WEBHOOK_THROUGH_TAG = "revloop/inbox_through_id"
WEBHOOK_EVENTS_TAG = "revloop/inbox_events"
MAX_EVENTS_PER_TICK = 5000


@dataclass(frozen=True)
class WebhookRunScope:
    """What a sensor-launched webhook run works on: one tenant's pending events up to an inbox id."""

    tenant: str
    through_id: int


def webhook_run_scope(tags: Mapping[str, str]) -> WebhookRunScope | None:
    """The scope in a run's tags, or None for a run not launched by the webhook sensor (manual runs
    then work on every tenant's pending events)."""
    tenant, through = tags.get(RUN_TENANT_TAG), tags.get(WEBHOOK_THROUGH_TAG)
    if not tenant or not through:
        return None
    if not through.isdigit():
        raise ValueError(f"run tag {WEBHOOK_THROUGH_TAG}={through!r} is not an inbox id")
    return WebhookRunScope(tenant, int(through))


@dg.sensor(job=webhook_ingest, minimum_interval_seconds=5,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launches one webhook ingestion run per tenant with new events in the durable "
                       "inbox, keyed by the tenant and inbox id range so a retried tick launches nothing "
                       "twice.")
def webhook_inbox_sensor(context: dg.SensorEvaluationContext,
                         db: OperationalDbResource) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    found = db.inbox().pending_tenants_after(cursor, limit=MAX_EVENTS_PER_TICK)
    if not found:
        return dg.SkipReason(f"no inbox events after id {cursor}")
    ranges: dict[str, list[int]] = {}
    for event_id, tenant in found:
        ranges.setdefault(tenant, []).append(event_id)
    requests = [
        dg.RunRequest(run_key=f"inbox:{tenant}:{ids[0]}-{ids[-1]}",
                      tags={RUN_TENANT_TAG: tenant, WEBHOOK_THROUGH_TAG: str(ids[-1]),
                            WEBHOOK_EVENTS_TAG: str(len(ids))})
        for tenant, ids in sorted(ranges.items())]
    return dg.SensorResult(run_requests=requests, cursor=str(found[-1][0]))


@dg.sensor(job=execute_actions, minimum_interval_seconds=5,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launches the executors when a proposal is approved or classified automatic.")
def decided_actions_sensor(context: dg.SensorEvaluationContext,
                           db: OperationalDbResource) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    store = db.proposals()
    newest = store.max_decision_id()
    if newest <= cursor:
        return dg.SkipReason(f"no decisions after {cursor}")
    ready = store.ready_to_execute()
    if not ready:
        return dg.SensorResult(skip_reason=dg.SkipReason("new decisions, nothing ready to execute"),
                               cursor=str(newest))
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"decisions-{newest}",
                                                       tags={"revloop/ready": str(len(ready))})],
                           cursor=str(newest))
