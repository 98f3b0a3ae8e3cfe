"""Data-quality gates: great-expectations suites over the canonical tables, as blocking checks."""


import dagster as dg

from pipelines.assets.perception import normalized_snapshots
from pipelines.resources import DemoWorldResource, LakeResource


@dg.asset_check(asset=normalized_snapshots, blocking=True,
                description="great-expectations suites per canonical table (ids present and unique, "
                            "known stages, non-negative amounts and usage) over each tenant's latest "
                            "snapshot. A failure holds back signals and everything after them.")
def canonical_tables_meet_expectations(demo_world: DemoWorldResource,
                                       lake: LakeResource) -> dg.AssetCheckResult:
    from perception.stage import validate_latest_snapshots

    reports = validate_latest_snapshots(lake.normalized(), demo_world.tenants)
    failing = sorted({t for r in reports for t in r.failing_tenants})
    results = {f"{r.object}": {"success": r.success,
                               "failed": [e.name for e in r.results if not e.success]}
               for r in reports}
    return dg.AssetCheckResult(
        passed=all(r.success for r in reports),
        metadata={"tables": dg.MetadataValue.json(results),
                  "failing_tenants": dg.MetadataValue.json(failing)},
        description=("all canonical tables meet their expectations" if not failing
                     else f"expectations failed for tenants {', '.join(failing)}"),
    )
