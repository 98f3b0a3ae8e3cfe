"""The one Definitions object of revloop, assembled from the per-layer modules."""

from __future__ import annotations

import dagster as dg

from pipelines.assets import actions, decisioning, ledger, perception, world_model
from pipelines.checks import canonical_tables_meet_expectations
from pipelines.jobs import demo_world_advance, execute_actions, revloop_loop, webhook_ingest
from pipelines.resources import resources_for
from pipelines.schedules import crm_pull_schedule, demo_world_schedule, new_exports_sensor
from pipelines.sensors import decided_actions_sensor, webhook_inbox_sensor
from revloop.settings import Settings, load_settings

ASSET_MODULES = (perception, world_model, decisioning, actions, ledger)


def build_definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(
        assets=dg.load_assets_from_modules(ASSET_MODULES),
        asset_checks=[canonical_tables_meet_expectations, ledger.ledger_chain_verifies],
        jobs=[demo_world_advance, revloop_loop, webhook_ingest, execute_actions],
        schedules=[crm_pull_schedule(settings.schedule_cron, settings.tenants)
                   if settings.crm_source != "demo" else demo_world_schedule(settings.schedule_cron)],
        sensors=[new_exports_sensor, webhook_inbox_sensor, decided_actions_sensor],
        resources=resources_for(settings),
        # Steps share one process: each run loads the engines and the embedding model once.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = load_settings()
    settings.paths.ensure()
    return build_definitions(settings)
