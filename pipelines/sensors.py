"""Sensors: webhook inbox -> ingestion runs; new decisions -> executor runs. Both keep a cursor and
key their runs so a retried tick never launches the same work twice."""


import dagster as dg

from pipelines.jobs import execute_actions, webhook_ingest
from pipelines.resources import OperationalDbResource


@dg.sensor(job=webhook_ingest, minimum_interval_seconds=5,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Launches webhook ingestion when verified events land in the durable inbox.")
def webhook_inbox_sensor(context: dg.SensorEvaluationContext,
                         db: OperationalDbResource) -> dg.SensorResult | dg.SkipReason:
    cursor = int(context.cursor or 0)
    events = db.inbox().pending_after(cursor)
    if not events:
        return dg.SkipReason(f"no inbox events after id {cursor}")
    newest = max(event.id for event in events)
    tenants = sorted({event.tenant for event in events})
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"inbox-{newest}",
                                    tags={"revloop/tenants": ",".join(tenants),
                                          "revloop/inbox_events": str(len(events))})],
        cursor=str(newest),
    )


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
