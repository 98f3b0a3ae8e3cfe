"""Data-quality gates: great-expectations suites per canonical table, one asset check each.

The suites run on every new snapshot as part of `normalized_snapshots` (perception.quality_gate), so
signals are raised only from snapshots that passed. A failure holds back only the tenant whose
snapshot failed — which is why these checks are not Dagster-blocking (that would stop every tenant):
they report each table's state per tenant, name the held tenants and fail with severity ERROR."""


import dagster as dg

from perception.schemas import SCHEMAS
from pipelines.assets.perception import normalized_snapshots
from pipelines.resources import DemoWorldResource, OperationalDbResource

TABLE_CHECKS = [
    dg.AssetCheckSpec(name=f"{table}_meet_expectations", asset=normalized_snapshots,
                      description=f"great-expectations suite for canonical `{table}` over each tenant's "
                                  "latest snapshot; a failing tenant is held back from signals")
    for table in SCHEMAS
]


@dg.multi_asset_check(specs=TABLE_CHECKS, can_subset=False)
def canonical_tables_meet_expectations(demo_world: DemoWorldResource, db: OperationalDbResource):
    latest = db.quality_gate().latest(demo_world.tenants)
    for table in SCHEMAS:
        failing = {v.tenant: v.failures[table] for v in latest if table in v.failures}
        yield dg.AssetCheckResult(
            check_name=f"{table}_meet_expectations",
            passed=not failing,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "tenants_checked": dg.MetadataValue.json(sorted(v.tenant for v in latest)),
                "held_tenants": dg.MetadataValue.json(sorted(failing)),
                "failed_expectations": dg.MetadataValue.json(failing),
                "latest_snapshot": dg.MetadataValue.json({v.tenant: v.pulled_at.isoformat() for v in latest}),
            },
            description=(f"{table}: every tenant's latest snapshot meets its expectations" if not failing
                         else f"{table}: holding back tenant(s) {', '.join(sorted(failing))} from signals; "
                              "other tenants proceed"),
        )
