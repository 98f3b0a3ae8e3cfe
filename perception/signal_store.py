"""Raised signals in the operational database, stored once per (tenant, dedupe key).

`signal_progress` records which downstream stage (graph sync, memory, agent, ...) has consumed which
signal, so each stage can ask for what it has not processed yet and resume after a crash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    Column,
    Connection,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from ledger.sql import make_engine
from perception.contracts import Signal, SignalKind

metadata = MetaData()

signals_table = Table(
    "signals", metadata,
    Column("signal_id", String(64), primary_key=True),
    Column("tenant", String(128), nullable=False),
    Column("account_id", String(128), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("observed_at", String(40), nullable=False),  # ISO-8601 UTC: sorts as text
    Column("dedupe_key", String(512), nullable=False),
    Column("payload", Text, nullable=False),  # the Signal as JSON
    Column("stored_at", String(40), nullable=False),
    UniqueConstraint("tenant", "dedupe_key", name="uq_signals_tenant_dedupe"),
    Index("ix_signals_tenant_observed", "tenant", "observed_at"),
    Index("ix_signals_tenant_kind", "tenant", "kind"),
)

signal_progress = Table(
    "signal_progress", metadata,
    Column("stage", String(64), nullable=False),
    Column("signal_id", String(64), nullable=False),
    Column("processed_at", String(40), nullable=False),
    PrimaryKeyConstraint("stage", "signal_id"),
)


def _utc(at: datetime) -> str:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC).isoformat()


class SignalStore:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def _insert_ignoring_duplicates(self, conn: Connection, table: Table, rows: list[dict],
                                    returning: Column | None = None) -> set[str]:
        """Insert, skipping rows whose unique keys exist; returns `returning` of the rows inserted."""
        if not rows:
            return set()
        dialect = conn.dialect.name
        if dialect not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"SignalStore supports SQLite and PostgreSQL, not {dialect}")
        dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        stmt = dialect_insert(table).on_conflict_do_nothing()
        if returning is None:
            conn.execute(stmt, rows)
            return set()
        return set(conn.execute(stmt.returning(returning), rows).scalars())

    def add_new(self, signals: Iterable[Signal]) -> list[Signal]:
        """Store the signals not seen before (by tenant and dedupe key); returns exactly those.

        Concurrent callers with the same signal: the database's unique keys decide, and only the
        caller whose row was inserted gets it back."""
        batch: dict[tuple[str, str], Signal] = {}
        for signal in signals:
            batch.setdefault((signal.tenant, signal.dedupe_key), signal)
        if not batch:
            return []
        now = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            inserted = self._insert_ignoring_duplicates(conn, signals_table, [{
                "signal_id": s.signal_id, "tenant": s.tenant, "account_id": s.account_id,
                "kind": s.kind.value, "severity": s.severity.value, "observed_at": _utc(s.observed_at),
                "dedupe_key": s.dedupe_key, "payload": s.model_dump_json(), "stored_at": now,
            } for s in batch.values()], returning=signals_table.c.signal_id)
        return [s for s in batch.values() if s.signal_id in inserted]

    def get(self, signal_id: str) -> Signal | None:
        with self.engine.begin() as conn:
            payload = conn.execute(select(signals_table.c.payload)
                                   .where(signals_table.c.signal_id == signal_id)).scalar_one_or_none()
        return Signal.model_validate_json(payload) if payload else None

    def list(self, tenant: str | None = None, kinds: Sequence[SignalKind | str] | None = None,
             since: datetime | None = None) -> list[Signal]:
        query = select(signals_table.c.payload) \
            .order_by(signals_table.c.observed_at, signals_table.c.signal_id)
        if tenant is not None:
            query = query.where(signals_table.c.tenant == tenant)
        if kinds:
            query = query.where(signals_table.c.kind.in_([SignalKind(k).value for k in kinds]))
        if since is not None:
            query = query.where(signals_table.c.observed_at >= _utc(since))
        with self.engine.begin() as conn:
            return [Signal.model_validate_json(p) for p in conn.execute(query).scalars()]

    def unprocessed(self, stage: str, tenant: str | None = None) -> list[Signal]:
        done = select(signal_progress.c.signal_id).where(signal_progress.c.stage == stage)
        query = select(signals_table.c.payload).where(signals_table.c.signal_id.not_in(done)) \
            .order_by(signals_table.c.observed_at, signals_table.c.signal_id)
        if tenant is not None:
            query = query.where(signals_table.c.tenant == tenant)
        with self.engine.begin() as conn:
            return [Signal.model_validate_json(p) for p in conn.execute(query).scalars()]

    def mark_processed(self, stage: str, signal_ids: list[str]) -> None:
        now = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            self._insert_ignoring_duplicates(conn, signal_progress, [
                {"stage": stage, "signal_id": sid, "processed_at": now} for sid in dict.fromkeys(signal_ids)])

    def counts_by_kind(self, tenant: str | None = None) -> dict[str, int]:
        query = select(signals_table.c.kind, func.count()).group_by(signals_table.c.kind)
        if tenant is not None:
            query = query.where(signals_table.c.tenant == tenant)
        with self.engine.begin() as conn:
            return {kind: count for kind, count in conn.execute(query).all()}
