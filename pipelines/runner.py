"""Running the loop from the CLI: in this process, or as a run of the Dagster instance behind the UI."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.jobs import DEMO_JOB, EXECUTE_JOB, LOOP_JOB
from pipelines.partitions import TENANTS
from revloop.settings import Settings

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under the data dir (the one `make run`'s Dagster UI shows)."""
    home = settings.paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if PROJECT_DAGSTER_YAML.exists():
        shutil.copyfile(PROJECT_DAGSTER_YAML, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def demo_run_config(days: int) -> dict[str, Any]:
    return {"ops": {"demo_world_day": {"config": {"days": days}}}}


def run_loop_in_process(settings: Settings, days: int = 1,
                        instance: dg.DagsterInstance | None = None) -> dict[str, Any]:
    """Advance the demo world ``days``, run the loop once per tenant and new day (what
    new_exports_sensor launches), then the executors (what decided_actions_sensor launches), all in
    this process. Raises if any step or blocking check fails. Returns a summary for people."""
    from pipelines.definitions import build_definitions
    from pipelines.resources import resources_for
    from pipelines.schedules import pending_loop_runs

    defs = build_definitions(settings)
    instance = instance or dagster_instance(settings)
    resources = resources_for(settings)
    summary: dict[str, Any] = {DEMO_JOB: _execute(defs, instance, DEMO_JOB, demo_run_config(days))}
    known = set(instance.get_dynamic_partitions(TENANTS))
    instance.add_dynamic_partitions(TENANTS, [t for t in settings.tenants if t not in known])
    loops = [_execute(defs, instance, LOOP_JOB, {}, request.partition_key)
             for request in pending_loop_runs(resources["demo_world"], resources["lake"])]
    summary[LOOP_JOB] = {"success": all(run["success"] for run in loops), "runs": loops}
    summary[EXECUTE_JOB] = _execute(defs, instance, EXECUTE_JOB, {})
    return summary


def _execute(defs: dg.Definitions, instance: dg.DagsterInstance, job_name: str,
             run_config: dict[str, Any], partition_key: str | None = None) -> dict[str, Any]:
    result = defs.resolve_job_def(job_name).execute_in_process(
        run_config=run_config, instance=instance, partition_key=partition_key)
    materialized: dict[str, dict[str, Any]] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        materialized[materialization.asset_key.to_user_string()] = {
            key: value.value for key, value in materialization.metadata.items()
            if isinstance(value.value, (int, float, str, dict, list))}
    return {"run_id": result.run_id, "success": result.success, "partition": partition_key,
            "assets": materialized}


def launch_loop_run(settings: Settings, days: int = 1, wait: bool = True,
                    timeout_s: float = 900.0) -> str:
    """Advance the demo world through the Dagster webserver started by `make run`; the instance's
    new_exports_sensor then launches one loop run per tenant and new day. With ``wait``, follow those
    runs to the end: SUCCESS only when every one succeeded."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=settings.dagster_port)
    before = _tenant_days(settings)
    run_id = client.submit_job_execution(DEMO_JOB, run_config=demo_run_config(days))
    print(f"launched {DEMO_JOB} run {run_id}: "
          f"http://127.0.0.1:{settings.dagster_port}/runs/{run_id}", flush=True)
    if not wait:
        return client.get_run_status(run_id).value
    deadline = time.monotonic() + timeout_s
    status = _wait(lambda: client.get_run_status(run_id).value, deadline)
    if status != "SUCCESS":
        return status
    return _wait_for_loop_runs(settings, before, deadline)


_DONE = {"SUCCESS", "FAILURE", "CANCELED"}


def _wait(status_of: Any, deadline: float) -> str:
    while True:
        status = status_of()
        if status in _DONE or time.monotonic() > deadline:
            return status
        time.sleep(2)


def _tenant_days(settings: Settings) -> tuple[set[str], set[str]]:
    """(run keys of tenant-days exported, run keys of those not pulled yet)."""
    from pipelines.resources import resources_for
    from pipelines.schedules import pending_loop_runs

    resources = resources_for(settings)
    connector = resources["demo_world"].connector()
    exported = {f"{t}|{d.isoformat()}" for t in settings.tenants for d in connector.export_days(t)}
    pending = {str(r.run_key) for r in pending_loop_runs(resources["demo_world"], resources["lake"])}
    return exported, pending


def _wait_for_loop_runs(settings: Settings, before: tuple[set[str], set[str]], deadline: float) -> str:
    """Wait until the sensor has launched and finished a loop run for every tenant-day that was
    pending before the launch or exported by it."""
    exported_before, pending_before = before
    wanted = pending_before | (_tenant_days(settings)[0] - exported_before)
    instance = dg.DagsterInstance.from_config(str(settings.paths.dagster_home))
    print(f"waiting for {len(wanted)} {LOOP_JOB} run(s), one per tenant and new day: "
          f"{', '.join(sorted(wanted)) or 'none'}", flush=True)
    while True:
        statuses: dict[str, str] = {}
        for run in instance.get_runs(filters=dg.RunsFilter(job_name=LOOP_JOB)):
            key = run.tags.get("dagster/run_key")
            if key in wanted and key not in statuses:  # newest first: the latest attempt counts
                statuses[key] = run.status.value
        finished = {key: status for key, status in statuses.items() if status in _DONE}
        if len(finished) == len(wanted):
            failed = sorted(key for key, status in finished.items() if status != "SUCCESS")
            if failed:
                print(f"loop runs that did not succeed: {', '.join(failed)}", flush=True)
            return "FAILURE" if failed else "SUCCESS"
        if time.monotonic() > deadline:
            return "TIMEOUT"
        time.sleep(2)
