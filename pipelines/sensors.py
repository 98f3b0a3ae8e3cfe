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
WEBHOOK_TENANTS_TAG = "revloop/inbox_tenants"  # queue runs: the tenants with new events at launch
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
                       "inbox (one run for all tenants when the inbox is an SQS queue), keyed by the "
                       "tenant and inbox id range so a retried tick launches nothing twice.")
def webhook_inbox_sensor(context: dg.SensorEvaluationContext,
                         db: OperationalDbResource) -> dg.SensorResult | dg.SkipReason:
    from connectors.webhooks.inbox import WebhookInbox

    cursor = int(context.cursor or 0)
    inbox = db.inbox()
    found = inbox.pending_tenants_after(cursor, limit=MAX_EVENTS_PER_TICK)
    if not found:
        return dg.SkipReason(f"no inbox events after id {cursor}")
    if not isinstance(inbox, WebhookInbox):
        # A queue is read in arrival order, whoever the tenant: one run takes every tenant's events.
        first, last = found[0][0], found[-1][0]
        tenants = sorted({tenant for _, tenant in found})
        return dg.SensorResult(run_requests=[dg.RunRequest(
            run_key=f"inbox:queue:{first}-{last}",
            tags={WEBHOOK_THROUGH_TAG: str(last), WEBHOOK_EVENTS_TAG: str(len(found)),
                  WEBHOOK_TENANTS_TAG: ",".join(tenants)})], cursor=str(last))
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
           description="Launches the executors when a proposal is approved or classified automatic, or "
                       "when a kill switch changes (lifting a pause releases held automatic proposals).")
def decided_actions_sensor(context: dg.SensorEvaluationContext,
                           db: OperationalDbResource) -> dg.SensorResult | dg.SkipReason:
    # Cursor "<newest decision>:<kill switch fingerprint>"; a bare number is an older cursor.
    seen, _, seen_switches = (context.cursor or "0").partition(":")
    store = db.proposals()
    newest, switches = store.max_decision_id(), store.kill_switch_fingerprint()
    cursor = f"{newest}:{switches}"
    if newest <= int(seen) and switches == (seen_switches or switches):
        return dg.SkipReason(f"no decisions after {seen} and no kill switch change")
    ready = store.ready_to_execute()
    if not ready:
        return dg.SensorResult(skip_reason=dg.SkipReason("nothing ready to execute"), cursor=cursor)
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"decisions-{newest}-{switches}",
                                                       tags={"revloop/ready": str(len(ready))})],
                           cursor=cursor)
