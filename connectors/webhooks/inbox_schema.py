"""The SQL inbox table, its additive migrations and row conversion (SQLite WAL / PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import OperationalError, ProgrammingError

from connectors.webhooks.port import DeadLetter, InboxEvent, NewDelivery

metadata = MetaData()

webhook_inbox = Table(
    "webhook_inbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("source", String(64), nullable=False),
    Column("delivery_id", String(256), nullable=False),
    Column("received_at", String(40), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("error", Text, nullable=True),
    Column("attempts", Integer, nullable=False, default=0),
    Column("trace_id", String(64), nullable=True),
    Column("leased_until", Float, nullable=True),
    UniqueConstraint("tenant", "delivery_id", name="uq_webhook_inbox_tenant_delivery"),
    CheckConstraint("status IN ('pending', 'processed', 'dead')", name="ck_webhook_inbox_status"),
    Index("ix_webhook_inbox_status_id", "status", "id"),
    Index("ix_webhook_inbox_status_tenant", "status", "tenant"),
)


def next_id(conn: Connection, table: Table) -> Any:
    """An id above every one ``table`` holds or has handed out, for moving a row to the end: the
    id sequence on PostgreSQL, one past the largest id on SQLite (which is how it numbers inserts)."""
    if conn.dialect.name == "postgresql":
        return func.nextval(func.pg_get_serial_sequence(table.name, "id"))
    return select(func.max(table.c.id) + 1).scalar_subquery()


# Columns added after the first release; databases created before them get them on open.
_ADDED_COLUMNS = {"trace_id": "VARCHAR(64)", "leased_until": "FLOAT"}


def create_or_migrate(engine: Engine) -> None:
    metadata.create_all(engine)
    present = {column["name"] for column in inspect(engine).get_columns("webhook_inbox")}
    for name, sql_type in _ADDED_COLUMNS.items():
        if name in present:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE webhook_inbox ADD COLUMN {name} {sql_type}"))
        except (OperationalError, ProgrammingError):
            # Another process added it between our look and our ALTER; anything else is real.
            if name not in {c["name"] for c in inspect(engine).get_columns("webhook_inbox")}:
                raise
    for index in webhook_inbox.indexes:
        index.create(engine, checkfirst=True)


# The columns a new delivery sets, in the order of :func:`new_row`'s values.
INSERT_COLUMNS = ("tenant", "source", "delivery_id", "received_at", "body", "status", "attempts", "trace_id")


def new_row(delivery: NewDelivery) -> tuple[Any, ...]:
    """The values of :data:`INSERT_COLUMNS` for a new, pending delivery."""
    return (delivery.tenant, delivery.source, delivery.delivery_id,
            delivery.received_at.astimezone(UTC).isoformat(), delivery.body.decode("utf-8"), "pending", 0,
            delivery.trace_id)


def event_of(row: Row[Any]) -> InboxEvent:
    return InboxEvent(id=row.id, tenant=row.tenant, source=row.source, delivery_id=row.delivery_id,
                      received_at=datetime.fromisoformat(row.received_at), body=row.body.encode("utf-8"),
                      status=row.status, error=row.error, attempts=row.attempts, trace_id=row.trace_id,
                      handle=str(row.id))


def dead_letter_of(row: Row[Any]) -> DeadLetter:
    return DeadLetter(id=str(row.id), tenant=row.tenant, source=row.source, delivery_id=row.delivery_id,
                      received_at=datetime.fromisoformat(row.received_at), body=row.body.encode("utf-8"),
                      error=row.error, attempts=row.attempts, trace_id=row.trace_id)
