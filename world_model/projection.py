"""Project one tenant's canonical tables onto the vertices and edges the situation graph should hold.

Pure: no graph access. sync_snapshot diffs this projection against what the graph holds."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl

from world_model.graph_schema import (
    ACCOUNT,
    CHAMPION_OF,
    CONTACT,
    EVENT,
    HAS_OPPORTUNITY,
    INVOLVES,
    OCCURRED_AT,
    ON_OPPORTUNITY,
    OPPORTUNITY,
    PRODUCT,
    TENANT,
    USES,
    WORKS_AT,
    tenant_key,
    vertex_key,
)
from world_model.tenancy import validate_tenant

log = logging.getLogger(__name__)

Scalar = str | int | float | bool
EdgeKey = tuple[str, str, str]  # (label, out vertex key, in vertex key)

# What the projection relies on; every other column of the canonical tables (perception.schemas)
# becomes a vertex property as it is.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": ("tenant", "account_id", "name"),
    "contacts": ("tenant", "contact_id", "account_id", "name", "role", "status"),
    "opportunities": ("tenant", "opportunity_id", "account_id", "name", "stage"),
    "usage": ("tenant", "account_id", "product", "day", "active_users", "seats_used"),
    "activities": ("tenant", "activity_id", "account_id", "type", "occurred_on"),
}
# Tables a snapshot may omit (sources without engagement data): absent means "none".
OPTIONAL_TABLES: frozenset[str] = frozenset({"activities"})
ACTIVITY_EVENT_PREFIX = "activity:"


_INT_LIMIT = 2**62  # gremlite's integer range; Neptune's is wider


class SnapshotError(ValueError):
    """The canonical tables handed to sync_snapshot cannot be projected safely."""


@dataclass(frozen=True)
class VertexSpec:
    label: str
    props: dict[str, Scalar | None]


@dataclass
class SnapshotProjection:
    vertices: dict[str, VertexSpec] = field(default_factory=dict)
    edges: dict[EdgeKey, dict[str, Scalar]] = field(default_factory=dict)


def to_scalar(value: Any) -> Scalar | None:
    """A graph property value: dates become ISO strings; None and NaN mean 'no property'."""
    if value is None:
        return None
    if isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise SnapshotError(f"integer {value} is out of the graph's range (±2^62)")
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise SnapshotError(f"cannot store {type(value).__name__} value {value!r} as a graph property")


def utc_iso(moment: datetime) -> str:
    """UTC ISO-8601, so that times sort as strings."""
    return moment.astimezone(UTC).isoformat() if moment.tzinfo else moment.isoformat()


def _rows(tenant: str, name: str, tables: dict[str, pl.DataFrame], id_column: str | None) -> list[dict]:
    if name not in tables and name in OPTIONAL_TABLES:
        return []
    if name not in tables:
        raise SnapshotError(
            f"snapshot for tenant {tenant!r} has no {name!r} table; pass all of "
            f"{sorted(set(REQUIRED_COLUMNS) - OPTIONAL_TABLES)} (an empty table means 'none')"
        )
    frame = tables[name]
    missing = [c for c in REQUIRED_COLUMNS[name] if c not in frame.columns]
    if missing:
        raise SnapshotError(f"{name} table for tenant {tenant!r} lacks columns {missing}")
    foreign = frame.filter(pl.col("tenant") != tenant).height
    if foreign:
        raise SnapshotError(f"{name} table for tenant {tenant!r} holds {foreign} rows of another tenant")
    if id_column is not None:
        if frame[id_column].null_count():
            raise SnapshotError(f"{name} table for tenant {tenant!r} has rows without {id_column}")
        duplicated = frame.filter(pl.col(id_column).is_duplicated())[id_column].unique().to_list()
        if duplicated:
            raise SnapshotError(
                f"{name} table for tenant {tenant!r} repeats {id_column} {sorted(duplicated)[:5]}; "
                "resolve duplicates before syncing"
            )
    return list(frame.iter_rows(named=True))


def _props(row: dict, skip: tuple[str, ...] = ("tenant",)) -> dict[str, Scalar | None]:
    return {k: to_scalar(v) for k, v in row.items() if k not in skip}


def project_snapshot(tenant: str, tables: dict[str, pl.DataFrame]) -> SnapshotProjection:
    """The vertices (by key) and edges (by label, out key, in key) that one snapshot implies."""
    validate_tenant(tenant)
    out = SnapshotProjection()
    out.vertices[tenant_key(tenant)] = VertexSpec(TENANT, {"name": tenant})

    account_keys: dict[str, str] = {}
    for row in _rows(tenant, "accounts", tables, "account_id"):
        key = vertex_key(tenant, ACCOUNT, str(row["account_id"]))
        account_keys[str(row["account_id"])] = key
        out.vertices[key] = VertexSpec(ACCOUNT, _props(row))

    orphans = 0
    for row in _rows(tenant, "contacts", tables, "contact_id"):
        key = vertex_key(tenant, CONTACT, str(row["contact_id"]))
        out.vertices[key] = VertexSpec(CONTACT, _props(row))
        account = account_keys.get(str(row["account_id"]))
        if account is None:
            orphans += 1
            continue
        out.edges[(WORKS_AT, key, account)] = {}
        if row["role"] == "champion" and row["status"] == "active":
            out.edges[(CHAMPION_OF, key, account)] = {}

    for row in _rows(tenant, "opportunities", tables, "opportunity_id"):
        key = vertex_key(tenant, OPPORTUNITY, str(row["opportunity_id"]))
        out.vertices[key] = VertexSpec(OPPORTUNITY, _props(row))
        account = account_keys.get(str(row["account_id"]))
        if account is None:
            orphans += 1
            continue
        out.edges[(HAS_OPPORTUNITY, account, key)] = {}

    _rows(tenant, "usage", tables, None)  # validates before the aggregation below
    latest = (
        tables["usage"].sort("day").group_by(["account_id", "product"], maintain_order=True).last()
        .select("account_id", "product", "day", "active_users", "seats_used")
    )
    for row in latest.iter_rows(named=True):
        product = vertex_key(tenant, PRODUCT, str(row["product"]))
        out.vertices[product] = VertexSpec(PRODUCT, {"name": str(row["product"])})
        account = account_keys.get(str(row["account_id"]))
        if account is None:
            orphans += 1
            continue
        usage = {"last_day": row["day"], "active_users": row["active_users"], "seats_used": row["seats_used"]}
        out.edges[(USES, account, product)] = {
            k: v for k, v in ((k, to_scalar(v)) for k, v in usage.items()) if v is not None
        }
    orphans += _project_activities(tenant, tables, out, account_keys)
    if orphans:
        log.warning("tenant %s: %d rows reference accounts absent from the snapshot; linked no edge",
                    tenant, orphans)
    return out


def _project_activities(tenant: str, tables: dict[str, pl.DataFrame], out: SnapshotProjection,
                        account_keys: dict[str, str]) -> int:
    """CRM activities become Event vertices linked to their account, deal and person; returns orphans."""
    orphans = 0
    for row in _rows(tenant, "activities", tables, "activity_id"):
        key = vertex_key(tenant, EVENT, ACTIVITY_EVENT_PREFIX + str(row["activity_id"]))
        props = _props(row, skip=("tenant", "type"))
        props["event_type"] = to_scalar(row["type"])
        out.vertices[key] = VertexSpec(EVENT, props)
        account = account_keys.get(str(row["account_id"]))
        if account is None:
            orphans += 1
            continue
        out.edges[(OCCURRED_AT, key, account)] = {}
        for label, column, target_label in ((ON_OPPORTUNITY, "opportunity_id", OPPORTUNITY),
                                            (INVOLVES, "contact_id", CONTACT)):
            if row.get(column):
                target = vertex_key(tenant, target_label, str(row[column]))
                if target in out.vertices:
                    out.edges[(label, key, target)] = {}
    return orphans
