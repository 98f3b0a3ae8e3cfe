"""The durable webhook inbox: verified deliveries stored once per (tenant, delivery id), then processed.

A delivery is written here before the sender gets its 2xx, so an acknowledged event is never lost.
Senders retry (at-least-once), so a repeated id is a no-op. Events that keep failing are marked dead
with their error and kept: nothing is dropped silently."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    CheckConstraint,
    Column,
    Index,
    Insert,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from ledger.sql import make_engine

InboxStatus = Literal["pending", "processed", "dead"]
STATUSES: tuple[InboxStatus, ...] = ("pending", "processed", "dead")
MAX_ERROR_CHARS = 4000

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
    UniqueConstraint("tenant", "delivery_id", name="uq_webhook_inbox_tenant_delivery"),
    CheckConstraint("status IN ('pending', 'processed', 'dead')", name="ck_webhook_inbox_status"),
    Index("ix_webhook_inbox_status_id", "status", "id"),
)


class InboxStorageError(RuntimeError):
    """The inbox database could not take the write; the sender should retry later."""


@dataclass(frozen=True)
class InboxEvent:
    id: int
    tenant: str
    source: str
    delivery_id: str
    received_at: datetime
    body: bytes
    status: InboxStatus
    error: str | None
    attempts: int = 0


class WebhookInbox:
    """SQLite (WAL) locally, PostgreSQL in AWS; the same SQLAlchemy Core statements for both."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def store(self, tenant: str, source: str, delivery_id: str, received_at: datetime,
              body: bytes) -> bool:
        """Store a verified delivery; True if new, False for a duplicate (which changes nothing)."""
        if received_at.tzinfo is None:
            raise ValueError("received_at must be timezone-aware; pass datetime.now(UTC)")
        try:
            text_body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"webhook body is not UTF-8 (byte {exc.start}); senders must send "
                             "UTF-8 JSON") from None
        row = {"tenant": tenant, "source": source, "delivery_id": delivery_id,
               "received_at": received_at.astimezone(UTC).isoformat(), "body": text_body,
               "status": "pending", "attempts": 0}
        try:
            with self.engine.begin() as conn:
                return conn.execute(self._insert_new(), row).rowcount == 1
        except IntegrityError:
            return False  # dialects without ON CONFLICT: the unique constraint is the dedupe
        except SQLAlchemyError as exc:
            raise InboxStorageError(f"webhook inbox write failed: {type(exc.orig or exc).__name__}: "
                                    f"{exc.orig or exc}") from exc

    def _insert_new(self) -> Insert:
        keys = [webhook_inbox.c.tenant, webhook_inbox.c.delivery_id]
        if self.engine.dialect.name == "sqlite":
            return sqlite.insert(webhook_inbox).on_conflict_do_nothing(index_elements=keys)
        if self.engine.dialect.name == "postgresql":
            return postgresql.insert(webhook_inbox).on_conflict_do_nothing(index_elements=keys)
        return insert(webhook_inbox)

    def pending(self, limit: int = 500, tenant: str | None = None) -> list[InboxEvent]:
        """The oldest pending events first, optionally of one tenant."""
        query = select(webhook_inbox).where(webhook_inbox.c.status == "pending")
        if tenant is not None:
            query = query.where(webhook_inbox.c.tenant == tenant)
        return self._events(query.order_by(webhook_inbox.c.id).limit(limit))

    def max_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(webhook_inbox.c.id))).scalar() or 0)

    def pending_after(self, cursor_id: int, limit: int | None = None) -> list[InboxEvent]:
        """Pending events with id > cursor_id in id order (a sensor's cursor is the last id seen)."""
        query = (select(webhook_inbox)
                 .where(webhook_inbox.c.status == "pending", webhook_inbox.c.id > cursor_id)
                 .order_by(webhook_inbox.c.id))
        return self._events(query if limit is None else query.limit(limit))

    def get(self, id: int) -> InboxEvent | None:
        events = self._events(select(webhook_inbox).where(webhook_inbox.c.id == id))
        return events[0] if events else None

    def mark_processed(self, ids: Sequence[int]) -> int:
        """Mark pending events processed; returns how many changed (dead events stay dead)."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            done = conn.execute(
                update(webhook_inbox)
                .where(webhook_inbox.c.id.in_(list(ids)), webhook_inbox.c.status == "pending")
                .values(status="processed", error=None, attempts=webhook_inbox.c.attempts + 1))
            return done.rowcount

    def mark_dead(self, id: int, error: str) -> None:
        """Park a poison event with its error; it is kept for inspection and never retried."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(webhook_inbox).where(webhook_inbox.c.id == id)
                .values(status="dead", error=error[:MAX_ERROR_CHARS],
                        attempts=webhook_inbox.c.attempts + 1))
            if done.rowcount == 0:
                raise KeyError(f"no webhook inbox event with id {id}")

    def record_failure(self, id: int, error: str, max_attempts: int) -> InboxStatus:
        """Count a failed processing attempt; the event goes dead at ``max_attempts``."""
        with self.engine.begin() as conn:
            found = conn.execute(select(webhook_inbox.c.attempts, webhook_inbox.c.status)
                                 .where(webhook_inbox.c.id == id)).first()
            if found is None:
                raise KeyError(f"no webhook inbox event with id {id}")
            if found.status != "pending":
                raise ValueError(f"webhook inbox event {id} is already {found.status}; only pending "
                                 "events can fail")
            attempts = int(found.attempts)
            status: InboxStatus = "dead" if attempts + 1 >= max_attempts else "pending"
            conn.execute(update(webhook_inbox).where(webhook_inbox.c.id == id)
                         .values(status=status, error=error[:MAX_ERROR_CHARS], attempts=attempts + 1))
            return status

    def counts(self) -> dict[str, int]:
        """Events by status, every status present (zero when none)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(webhook_inbox.c.status, func.count())
                                .group_by(webhook_inbox.c.status)).all()
        out = dict.fromkeys(STATUSES, 0)
        out.update({status: int(n) for status, n in rows})
        return out

    def _events(self, query: Select[Any]) -> list[InboxEvent]:
        with self.engine.connect() as conn:
            return [_event(row) for row in conn.execute(query)]


def _event(row: Row[Any]) -> InboxEvent:
    return InboxEvent(id=row.id, tenant=row.tenant, source=row.source, delivery_id=row.delivery_id,
                      received_at=datetime.fromisoformat(row.received_at), body=row.body.encode("utf-8"),
                      status=row.status, error=row.error, attempts=row.attempts)
