"""The Definitions load, and every job, schedule and sensor resolves."""

from pathlib import Path

import dagster as dg

from pipelines.definitions import build_definitions
from pipelines.jobs import DEMO_JOB, EXECUTE_JOB, LOOP_JOB, WEBHOOK_JOB
from pipelines.partitions import tenant_day_partitions
from revloop.settings import load_settings


def test_definitions_resolve_every_job_schedule_and_sensor(tmp_path: Path) -> None:
    defs = build_definitions(load_settings(data_dir=tmp_path))
    for name in (DEMO_JOB, LOOP_JOB, WEBHOOK_JOB, EXECUTE_JOB):
        assert defs.resolve_job_def(name) is not None
    assert defs.resolve_schedule_def("demo_world_daily").job_name == DEMO_JOB
    assert defs.resolve_sensor_def("new_exports_sensor").job_name == LOOP_JOB
    assert defs.resolve_job_def(LOOP_JOB).partitions_def == tenant_day_partitions
    for name in ("webhook_inbox_sensor", "decided_actions_sensor"):
        assert defs.resolve_sensor_def(name) is not None
    keys = {key.to_user_string() for key in defs.resolve_all_asset_keys()}
    assert {"demo_world_day", "raw_snapshots", "normalized_snapshots", "signals", "situation_graph",
            "semantic_memory", "proposals", "policy_decisions", "review_queue", "action_executions",
            "ledger_heads", "iceberg_tables", "outcome_report"} <= keys
    graph = defs.resolve_asset_graph()
    checks = {key.name for key in graph.asset_check_keys}
    assert {"accounts_meet_expectations", "opportunities_meet_expectations", "activities_meet_expectations",
            "usage_meet_expectations", "contacts_meet_expectations", "ledger_chain_verifies"} <= checks


def test_the_module_level_definitions_load_like_dagster_loads_them(tmp_path: Path,
                                                                  monkeypatch) -> None:
    monkeypatch.setenv("REVLOOP_DATA_DIR", str(tmp_path))
    from pipelines.definitions import defs

    loaded = defs()
    assert isinstance(loaded, dg.Definitions)


def test_a_live_crm_source_runs_each_tenant_s_today_partition_on_schedule(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    defs = build_definitions(load_settings(data_dir=tmp_path, crm_source="hubspot",
                                           demo_tenants="acme,globex"))
    schedule = defs.resolve_schedule_def("crm_pull")
    assert schedule.job_name == LOOP_JOB
    at = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
    requests = schedule(dg.build_schedule_context(scheduled_execution_time=at))
    assert [r.partition_key for r in requests] == ["2026-11-20|acme", "2026-11-20|globex"]
    assert len({r.run_key for r in requests}) == 2
