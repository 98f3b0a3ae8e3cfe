"""Running the loop from the CLI: in this process, or as a run of the Dagster instance behind the UI."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.jobs import EXECUTE_JOB, LOOP_JOB
from revloop.settings import Settings

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[1] / "dagster.yaml"


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance under the data dir (the one `make run`'s Dagster UI shows)."""
    home = settings.paths.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    if PROJECT_DAGSTER_YAML.exists():
        shutil.copyfile(PROJECT_DAGSTER_YAML, home / "dagster.yaml")
    return dg.DagsterInstance.from_config(str(home))


def loop_run_config(days: int) -> dict[str, Any]:
    return {"ops": {"demo_world_day": {"config": {"days": days}}}}


def run_loop_in_process(settings: Settings, days: int = 1,
                        instance: dg.DagsterInstance | None = None) -> dict[str, Any]:
    """Run the loop job, then the executor job (what the sensor would launch), in this process.
    Raises if any step or blocking check fails. Returns a summary for people."""
    from pipelines.definitions import build_definitions

    defs = build_definitions(settings)
    instance = instance or dagster_instance(settings)
    summary: dict[str, Any] = {}
    for job_name, run_config in ((LOOP_JOB, loop_run_config(days)), (EXECUTE_JOB, {})):
        result = defs.resolve_job_def(job_name).execute_in_process(run_config=run_config,
                                                                   instance=instance)
        materialized: dict[str, dict[str, Any]] = {}
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            materialized[materialization.asset_key.to_user_string()] = {
                key: value.value for key, value in materialization.metadata.items()
                if isinstance(value.value, (int, float, str, dict, list))}
        summary[job_name] = {"run_id": result.run_id, "success": result.success,
                             "assets": materialized}
    return summary


def launch_loop_run(settings: Settings, days: int = 1, wait: bool = True,
                    timeout_s: float = 900.0) -> str:
    """Submit the loop job to the Dagster webserver started by `make run`; returns the run status."""
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient("127.0.0.1", port_number=settings.dagster_port)
    run_id = client.submit_job_execution(LOOP_JOB, run_config=loop_run_config(days))
    print(f"launched {LOOP_JOB} run {run_id}: "
          f"http://127.0.0.1:{settings.dagster_port}/runs/{run_id}", flush=True)
    if not wait:
        return client.get_run_status(run_id).value
    deadline = time.monotonic() + timeout_s
    while True:
        status = client.get_run_status(run_id).value
        if status in {"SUCCESS", "FAILURE", "CANCELED"} or time.monotonic() > deadline:
            return status
        time.sleep(2)
