"""The durable webhook inbox: verified deliveries stored once per (tenant, delivery id), then processed.

A delivery is written here before the sender gets its 2xx, so an acknowledged event is never lost:
``ledger.sql.make_engine`` opens SQLite in WAL mode with ``synchronous=FULL``, so every commit is
fsync'd before it returns (the group committer batches many deliveries into one such commit).
Senders retry (at-least-once), so a repeated id is a no-op. Events that keep failing become dead
letters with their error and are kept, listable and re-drivable: nothing is dropped silently."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from connectors.webhooks.inbox_schema import (
    INSERT_COLUMNS,
    create_or_migrate,
    dead_letter_of,
    event_of,
    new_row,
    next_id,
    webhook_inbox,
)
from connectors.webhooks.port import (
    MAX_ERROR_CHARS,
    STATUSES,
    DeadLetter,
    InboxEvent,
    InboxStatus,
    InboxStorageError,
    NewDelivery,
)
from ledger.sql import READ_ONLY, make_engine

__all__ = ["InboxEvent", "InboxStatus", "InboxStorageError", "WebhookInbox"]

c = webhook_inbox.c
_ROWS_PER_STATEMENT = 200  # PostgreSQL; 8 bound values a row, far below the limits
_SQLITE_ROWS_PER_STATEMENT = 1000  # 8,000 bound values, below SQLite's 32,766 (3.32+)


class WebhookInbox:
    """SQLite (WAL) locally, PostgreSQL in AWS; the same SQLAlchemy Core statements for both."""

    def __init__(self, url: str, max_attempts: int = 5, clock: Callable[[], float] = time.time) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self.engine = make_engine(url)
        if self.engine.dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the webhook inbox needs SQLite or PostgreSQL, not "
                             f"{self.engine.dialect.name}")
        if self.engine.dialect.paramstyle not in ("qmark", "format", "pyformat"):
            raise ValueError(f"unsupported DB-API paramstyle {self.engine.dialect.paramstyle}")
        self.max_attempts = max_attempts
        self._clock = clock
        self._sqlite = self.engine.dialect.name == "sqlite"
        self._sql_cache: dict[tuple[int, bool], str] = {}
        create_or_migrate(self.engine)

    # -- storing (the receiver) -------------------------------------------------------------------

    def store(self, tenant: str, source: str, delivery_id: str, received_at: datetime,
              body: bytes, trace_id: str | None = None) -> bool:
        """Store a verified delivery; True if new, False for a duplicate (which changes nothing)."""
        return self.store_many([NewDelivery(tenant, source, delivery_id, received_at, body, trace_id)])[0]

    def store_many(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        """Store deliveries in one fsync'd transaction; per delivery True if new, False if a duplicate
        (also of an earlier delivery in the same batch)."""
        if not deliveries:
            return []
        rows = [new_row(d) for d in deliveries]
        try:
            inserted = self._insert_sqlite(rows) if self._sqlite else self._insert_returning(rows)
        except (SQLAlchemyError, sqlite3.Error) as exc:
            cause = getattr(exc, "orig", None) or exc
            raise InboxStorageError(f"webhook inbox write failed: {type(cause).__name__}: {cause}") from exc
        results = []
        for d in deliveries:
            key = (d.tenant, d.delivery_id)
            results.append(key in inserted)
            inserted.discard(key)  # a later copy in the same batch is a duplicate
        return results

    def _insert_sqlite(self, rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
        """One ``INSERT ... ON CONFLICT DO NOTHING`` on the driver connection, which in autocommit mode
        is its own fsync'd transaction; batches above one statement's size share one explicit
        ``BEGIN IMMEDIATE`` transaction instead.

        Few statements matter here. This runs on the group-commit thread, and every sqlite3 call
        releases the GIL and must take it back from the receiver's event loop, which holds it most of
        the time. RETURNING would add one such hand-over per row, and SQLAlchemy's transaction
        machinery several per batch. Which rows were new is known from the row count. Only when some
        were duplicates is it read back: the rows of one statement get consecutive ids, the largest of
        them ``lastrowid``."""
        unique: dict[tuple[str, str], tuple[Any, ...]] = {}
        for row in rows:
            unique.setdefault((row[0], row[2]), row)  # (tenant, delivery_id); a later copy is a duplicate
        pending = list(unique.items())
        inserted: set[tuple[str, str]] = set()
        pooled = self.engine.raw_connection()
        try:
            driver = pooled.driver_connection
            cursor = driver.cursor()
            several = len(pending) > _SQLITE_ROWS_PER_STATEMENT
            if several:
                cursor.execute("BEGIN IMMEDIATE")
            try:
                for start in range(0, len(pending), _SQLITE_ROWS_PER_STATEMENT):
                    chunk = pending[start:start + _SQLITE_ROWS_PER_STATEMENT]
                    cursor.execute(self._insert_sql(len(chunk)),
                                   [value for _, row in chunk for value in row])
                    inserted |= _new_keys(cursor, [key for key, _ in chunk])
                if several:
                    cursor.execute("COMMIT")
            except BaseException:
                if driver.in_transaction:
                    driver.rollback()
                raise
        finally:
            pooled.close()
        return inserted

    def _insert_returning(self, rows: list[tuple[Any, ...]]) -> set[tuple[str, str]]:
        """PostgreSQL: one multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING per chunk, which is
        right even with other processes inserting the same keys concurrently."""
        inserted: set[tuple[str, str]] = set()
        with self.engine.begin() as conn:
            for start in range(0, len(rows), _ROWS_PER_STATEMENT):
                chunk = rows[start:start + _ROWS_PER_STATEMENT]
                params = tuple(value for row in chunk for value in row)
                result = conn.exec_driver_sql(self._insert_sql(len(chunk), returning=True), params)
                inserted.update((tenant, delivery_id) for tenant, delivery_id in result.tuples())
        return inserted

    def _insert_sql(self, count: int, *, returning: bool = False) -> str:
        """A multi-row INSERT that skips existing (tenant, delivery_id), optionally returning what it
        inserted; built once per row count, because SQLAlchemy would compile a many-VALUES insert
        anew each time."""
        sql = self._sql_cache.get((count, returning))
        if sql is None:
            mark = "?" if self.engine.dialect.paramstyle == "qmark" else "%s"
            row = "(" + ", ".join([mark] * len(INSERT_COLUMNS)) + ")"
            sql = (f"INSERT INTO webhook_inbox ({', '.join(INSERT_COLUMNS)}) VALUES "
                   + ", ".join([row] * count) + " ON CONFLICT (tenant, delivery_id) DO NOTHING")
            if returning:
                sql += " RETURNING tenant, delivery_id"
            self._sql_cache[(count, returning)] = sql
        return sql

    def backlog_by_tenant(self) -> dict[str, int]:
        with self._reader() as conn:
            rows = conn.execute(select(c.tenant, func.count()).where(c.status == "pending")
                                .group_by(c.tenant)).all()
        return {tenant: int(n) for tenant, n in rows}

    # -- reading by cursor (the Dagster sensor and the webhook stage) -----------------------------

    def pending(self, limit: int = 500, tenant: str | None = None,
                through_id: int | None = None) -> list[InboxEvent]:
        """The oldest pending events first, optionally of one tenant and up to an event id (a
        sensor-launched run works on what its sensor saw, and on older events still pending)."""
        query = select(webhook_inbox).where(c.status == "pending")
        if tenant is not None:
            query = query.where(c.tenant == tenant)
        if through_id is not None:
            query = query.where(c.id <= through_id)
        return self._events(query.order_by(c.id).limit(limit))

    def max_id(self) -> int:
        with self._reader() as conn:
            return int(conn.execute(select(func.max(c.id))).scalar() or 0)

    def pending_tenants_after(self, cursor_id: int, limit: int = 5000) -> list[tuple[int, str]]:
        """(id, tenant) of pending events with id > cursor_id in id order, without their bodies: what
        a sensor needs to decide which runs to launch."""
        query = select(c.id, c.tenant).where(c.status == "pending", c.id > cursor_id).order_by(c.id)
        with self._reader() as conn:
            return [(int(id_), tenant) for id_, tenant in conn.execute(query.limit(limit))]

    def get(self, id: int) -> InboxEvent | None:
        events = self._events(select(webhook_inbox).where(c.id == id))
        return events[0] if events else None

    def mark_processed(self, ids: Sequence[int]) -> int:
        """Mark pending events processed; returns how many changed (dead events stay dead)."""
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(update(webhook_inbox).where(c.id.in_(list(ids)), c.status == "pending")
                                .values(status="processed", error=None, leased_until=None,
                                        attempts=c.attempts + 1)).rowcount

    def mark_dead(self, id: int, error: str) -> None:
        """Park a poison event with its error; it is kept for inspection and re-drivable."""
        with self.engine.begin() as conn:
            done = conn.execute(update(webhook_inbox).where(c.id == id)
                                .values(status="dead", error=error[:MAX_ERROR_CHARS], leased_until=None,
                                        attempts=c.attempts + 1))
            if done.rowcount == 0:
                raise KeyError(f"no webhook inbox event with id {id}")

    def record_failure(self, id: int, error: str, max_attempts: int) -> InboxStatus:
        """Count a failed processing attempt; the event goes dead at ``max_attempts``."""
        with self.engine.begin() as conn:
            found = conn.execute(select(c.attempts, c.status).where(c.id == id)).first()
            if found is None:
                raise KeyError(f"no webhook inbox event with id {id}")
            if found.status != "pending":
                raise ValueError(f"webhook inbox event {id} is already {found.status}; only pending "
                                 "events can fail")
            attempts = int(found.attempts) + 1
            status: InboxStatus = "dead" if attempts >= max_attempts else "pending"
            conn.execute(update(webhook_inbox).where(c.id == id)
                         .values(status=status, error=error[:MAX_ERROR_CHARS], attempts=attempts,
                                 leased_until=None))
            return status

    def counts(self) -> dict[str, int]:
        """Events by status, every status present (zero when none)."""
        with self._reader() as conn:
            rows = conn.execute(select(c.status, func.count()).group_by(c.status)).all()
        out = dict.fromkeys(STATUSES, 0)
        out.update({status: int(n) for status, n in rows})
        return out

    # -- leasing consumers (the port; same semantics as an SQS queue with a redrive policy) ---------

    def receive(self, limit: int = 10, lease_seconds: float = 30.0) -> list[InboxEvent]:
        """Lease the oldest pending events; each receive counts as an attempt, and an event leased
        ``max_attempts`` times without an ack (its consumer crashed) becomes a dead letter."""
        now = self._clock()
        with self.engine.begin() as conn:
            conn.execute(update(webhook_inbox)
                         .where(c.status == "pending", c.leased_until < now,
                                c.attempts >= self.max_attempts)
                         .values(status="dead", leased_until=None,
                                 error=func.coalesce(c.error, f"leased {self.max_attempts} times without "
                                                     "an ack or a recorded failure (consumer crashed?)")))
            free = (c.leased_until.is_(None)) | (c.leased_until < now)
            ids = list(conn.execute(select(c.id).where(c.status == "pending", free)
                                    .order_by(c.id).limit(limit)).scalars())
            if not ids:
                return []
            conn.execute(update(webhook_inbox).where(c.id.in_(ids))
                         .values(leased_until=now + lease_seconds, attempts=c.attempts + 1))
            rows = conn.execute(select(webhook_inbox).where(c.id.in_(ids)).order_by(c.id)).all()
        return [event_of(row) for row in rows]

    def ack(self, events: Sequence[InboxEvent]) -> int:
        if not events:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(update(webhook_inbox)
                                .where(c.id.in_([e.id for e in events]), c.status == "pending")
                                .values(status="processed", error=None, leased_until=None)).rowcount

    def fail(self, event: InboxEvent, error: str) -> InboxStatus:
        with self.engine.begin() as conn:
            found = conn.execute(select(c.attempts, c.status).where(c.id == event.id)).first()
            if found is None:
                raise KeyError(f"no webhook inbox event with id {event.id}")
            if found.status != "pending":
                raise ValueError(f"webhook inbox event {event.id} is already {found.status}; only "
                                 "pending events can fail")
            status: InboxStatus = "dead" if int(found.attempts) >= self.max_attempts else "pending"
            conn.execute(update(webhook_inbox).where(c.id == event.id)
                         .values(status=status, error=error[:MAX_ERROR_CHARS], leased_until=None))
            return status

    def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        with self._reader() as conn:
            rows = conn.execute(select(webhook_inbox).where(c.status == "dead").order_by(c.id)
                                .limit(limit)).all()
        return [dead_letter_of(row) for row in rows]

    def redrive(self, ids: Sequence[str] | None = None) -> int:
        """Back to pending with fresh attempts; the last error is kept until the event succeeds.
        Unknown ids (or ids of events that are not dead) raise KeyError and change nothing.

        Each event gets a new id, above every id stored so far. The sensor reads pending events
        after its cursor, so this is how a re-driven event gets its own run. Under its old id, it
        would wait for the next event of its tenant."""
        query = select(c.id).where(c.status == "dead").order_by(c.id)
        with self.engine.begin() as conn:
            if ids is not None:
                wanted = {_row_id(i) for i in ids}
                query = query.where(c.id.in_(wanted))
            dead = list(conn.execute(query).scalars())
            if ids is not None and (missing := sorted(wanted - set(dead))):
                raise KeyError(f"no dead letter with id {', '.join(map(str, missing))}; list them "
                               "with 'revloop webhook dlq list'")
            for old in dead:
                conn.execute(update(webhook_inbox).where(c.id == old).values(
                    id=next_id(conn, webhook_inbox), status="pending", attempts=0, leased_until=None))
            return len(dead)

    def _events(self, query: Select[Any]) -> list[InboxEvent]:
        with self._reader() as conn:
            return [event_of(row) for row in conn.execute(query)]

    def _reader(self) -> Any:
        return self.engine.connect().execution_options(**{READ_ONLY: True})


def _row_id(value: str) -> int:
    if not value.isdigit():
        raise KeyError(f"dead letter ids of the SQL inbox are integers, got {value!r}")
    return int(value)


def _new_keys(cursor: sqlite3.Cursor, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``keys``, just sent to SQLite in one INSERT ... ON CONFLICT DO NOTHING, it inserted."""
    count = cursor.rowcount
    if count == len(keys):
        return set(keys)
    if count == 0:
        return set()
    last = cursor.lastrowid
    new = {(tenant, delivery_id) for tenant, delivery_id in cursor.execute(
        "SELECT tenant, delivery_id FROM webhook_inbox WHERE id > ? AND id <= ?", (last - count, last))}
    if len(new) != count or not new <= set(keys):
        raise InboxStorageError(f"webhook inbox: stored {count} of {len(keys)} deliveries but could not "
                                "read back which; the senders' retries will settle it")
    return new

