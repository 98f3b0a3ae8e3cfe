"""Tenant × day partitions: the sensor launches one run per tenant and new day (keyed, so a retried
tick launches nothing twice), a run touches only its tenant's day, and a backfill is a no-op for
days already pulled."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from connectors.object_store import LocalObjectStore
from pipelines.definitions import build_definitions
from pipelines.jobs import LOOP_JOB
from pipelines.partitions import TENANTS, tenant_day_key
from pipelines.resources import resources_for
from pipelines.schedules import new_exports_sensor
from revloop.settings import Settings, load_settings

TENANT_IDS = ["acme", "globex"]


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    settings = load_settings(data_dir=tmp_path / "data", demo_tenants=",".join(TENANT_IDS),
                             demo_accounts_per_tenant=6, demo_seed=3)
    settings.paths.ensure()
    world = resources_for(settings)["demo_world"].world()
    world.advance_day()
    world.advance_day()
    return settings


def _sensor_result(settings: Settings, instance: dg.DagsterInstance) -> dg.SensorResult:
    resources = resources_for(settings)
    context = dg.build_sensor_context(instance=instance, resources={
        "demo_world": resources["demo_world"], "lake": resources["lake"], "sources": resources["sources"]})
    result = new_exports_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def _days(settings: Settings) -> list[date]:
    return resources_for(settings)["demo_world"].connector().export_days(TENANT_IDS[0])


def test_the_sensor_registers_tenants_and_requests_one_keyed_run_per_tenant_day(
        settings: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    result = _sensor_result(settings, instance)
    days = _days(settings)
    assert len(days) >= 2
    added = [name for request in result.dynamic_partitions_requests
             for name in request.partition_keys]
    assert sorted(added) == TENANT_IDS
    keys = [request.run_key for request in result.run_requests]
    assert keys == [f"{t}|{d.isoformat()}" for d in days for t in TENANT_IDS]
    assert result.run_requests[0].partition_key == tenant_day_key(TENANT_IDS[0], days[0])


def test_a_partition_run_pulls_only_its_tenant_day_and_a_rerun_changes_nothing(
        settings: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANTS, TENANT_IDS)
    job = build_definitions(settings).resolve_job_def(LOOP_JOB)
    first_day = _days(settings)[0]
    key = tenant_day_key("acme", first_day)

    assert job.execute_in_process(instance=instance, partition_key=key).success
    raw = LocalObjectStore(settings.paths.lake)
    assert [at.date() for at in raw.list_snapshots("acme", "demo")] == [first_day]
    assert raw.list_snapshots("globex", "demo") == []

    again = job.execute_in_process(instance=instance, partition_key=key)
    assert again.success
    pulled = [e.materialization.metadata["snapshots_pulled"].value
              for e in again.get_asset_materialization_events()
              if e.materialization.asset_key.to_user_string() == "raw_snapshots"]
    assert pulled == [0]
    assert [at.date() for at in raw.list_snapshots("acme", "demo")] == [first_day]

    # The sensor now asks only for what is still missing.
    keys = [r.run_key for r in _sensor_result(settings, instance).run_requests]
    assert f"acme|{first_day.isoformat()}" not in keys and f"globex|{first_day.isoformat()}" in keys


def test_a_day_without_an_export_materializes_empty_and_says_so(settings: Settings) -> None:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANTS, TENANT_IDS)
    job = build_definitions(settings).resolve_job_def(LOOP_JOB)
    quiet_day = date(2026, 6, 1)  # after the test world's last simulated day
    assert quiet_day not in _days(settings)
    result = job.execute_in_process(instance=instance, partition_key=tenant_day_key("globex", quiet_day))
    assert result.success
    raw = [e.materialization.metadata for e in result.get_asset_materialization_events()
           if e.materialization.asset_key.to_user_string() == "raw_snapshots"][0]
    assert raw["snapshots_pulled"].value == 0 and raw["snapshots_stored_for_day"].value == 0
