"""The demo world's SQLite state (world.sqlite): CRM records, hidden usage dynamics, ground truth.

CRM records are stored generically (one JSON document per record plus a version) so the simulator and
the DemoCrm write API change them the same way; every change bumps the record's version."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)

from ledger.sql import make_engine, sqlite_url

metadata = MetaData()

meta = Table(
    "demo_meta", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

records = Table(
    "demo_records", metadata,
    Column("tenant", String(128), nullable=False),
    Column("object", String(32), nullable=False),
    Column("record_id", String(64), nullable=False),
    Column("account_id", String(64)),
    Column("version", Integer, nullable=False),
    Column("data", Text, nullable=False),
    PrimaryKeyConstraint("tenant", "object", "record_id"),
)

usage_state = Table(
    "demo_usage_state", metadata,
    Column("tenant", String(128), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("base_active", Float, nullable=False),
    Column("level", Float, nullable=False),
    Column("seat_ratio", Float, nullable=False),
    PrimaryKeyConstraint("tenant", "account_id", "product"),
)

usage_daily = Table(
    "demo_usage_daily", metadata,
    Column("tenant", String(128), nullable=False),
    Column("day", Integer, nullable=False),  # day index since EPOCH
    Column("account_id", String(64), nullable=False),
    Column("product", String(64), nullable=False),
    Column("active_users", Integer, nullable=False),
    Column("seats_used", Integer, nullable=False),
    PrimaryKeyConstraint("tenant", "day", "account_id", "product"),
)

events = Table(
    "demo_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("day", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("entity_id", String(64), nullable=False),
    Column("details", Text, nullable=False),
)

crm_writes = Table(
    "demo_crm_writes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("idempotency_key", String(256), nullable=False),
    Column("request_digest", String(64), nullable=False),
    Column("result", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    UniqueConstraint("tenant", "idempotency_key", name="uq_demo_crm_writes_key"),
)


@dataclass
class Record:
    record_id: str
    account_id: str | None
    version: int
    data: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.record_id, **self.data, "version": self.version}


def world_engine(root: Path) -> Engine:
    engine = make_engine(sqlite_url(root / "world.sqlite"))
    metadata.create_all(engine)
    return engine


def load_records(conn: Connection, tenant: str, object_: str) -> dict[str, Record]:
    rows = conn.execute(
        select(records.c.record_id, records.c.account_id, records.c.version, records.c.data)
        .where(records.c.tenant == tenant, records.c.object == object_)
        .order_by(records.c.record_id)
    )
    return {r.record_id: Record(r.record_id, r.account_id, r.version, json.loads(r.data)) for r in rows}


def insert_records(conn: Connection, tenant: str, object_: str, items: Iterable[Record]) -> None:
    rows = [{"tenant": tenant, "object": object_, "record_id": r.record_id, "account_id": r.account_id,
             "version": r.version, "data": json.dumps(r.data, sort_keys=True)} for r in items]
    if rows:
        conn.execute(records.insert(), rows)


def save_records(conn: Connection, tenant: str, object_: str, items: Iterable[Record]) -> None:
    """Upsert (SQLite INSERT OR REPLACE): used for records the simulator changed or created."""
    rows = [{"tenant": tenant, "object": object_, "record_id": r.record_id, "account_id": r.account_id,
             "version": r.version, "data": json.dumps(r.data, sort_keys=True)} for r in items]
    if rows:
        conn.execute(records.insert().prefix_with("OR REPLACE"), rows)


def get_meta(conn: Connection, key: str) -> str | None:
    return conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one_or_none()


def set_meta(conn: Connection, key: str, value: str) -> None:
    conn.execute(meta.insert().prefix_with("OR REPLACE"), [{"key": key, "value": value}])
