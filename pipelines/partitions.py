"""Tenant × day partitions of the snapshot assets.

Tenants are a dynamic dimension: a tenant is onboarded by adding its partition (the
`new_exports_sensor` adds every configured tenant), with no redeploy. Days start at
:data:`FIRST_DAY` (the demo world's first simulated day); a day before a tenant's first export
materializes as an empty partition that says so."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import dagster as dg

TENANTS = "tenants"
TENANT_DIM = "tenant"
DAY_DIM = "day"
FIRST_DAY = "2026-01-01"
# Tags every run launcher puts on its runs (sensors, schedules); run_tenants reads the tenant one.
RUN_TENANT_TAG = "revloop/tenant"
RUN_DAY_TAG = "revloop/day"

tenant_partitions = dg.DynamicPartitionsDefinition(name=TENANTS)
tenant_day_partitions = dg.MultiPartitionsDefinition({
    TENANT_DIM: tenant_partitions,
    DAY_DIM: dg.DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1),
})


def tenant_day_key(tenant: str, day: date) -> dg.MultiPartitionKey:
    return dg.MultiPartitionKey({TENANT_DIM: tenant, DAY_DIM: day.isoformat()})


def partition_of(context: dg.AssetExecutionContext) -> tuple[str, date]:
    """The (tenant, day) a partitioned asset is materializing."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise ValueError(f"expected a tenant|day partition key, got {key!r}")
    dims = key.keys_by_dimension
    return dims[TENANT_DIM], date.fromisoformat(dims[DAY_DIM])


def run_tenants(context: dg.AssetExecutionContext, configured: Sequence[str]) -> list[str]:
    """Tenants an unpartitioned asset should work on in this run: the partition's tenant in a tenant-day
    run (the loop), the tagged tenant in a webhook run, else every configured tenant (manual runs)."""
    tags = context.run.tags
    tenant = tags.get(f"dagster/partition/{TENANT_DIM}") or tags.get(RUN_TENANT_TAG)
    if tenant:
        if tenant not in configured:
            raise ValueError(f"run is for tenant {tenant!r}, which is not configured "
                             f"(REVLOOP_DEMO_TENANTS={','.join(configured)})")
        return [tenant]
    return list(configured)
