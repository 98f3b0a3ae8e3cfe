"""Persisted pull cursors: the high-water mark per (tenant, source, vendor object).

A cursor only moves after the snapshot that reached it is durably written (``commit_pull``), so a
crash between pull and write re-pulls the same records next time instead of skipping them. Marks are
UTC instants; they never move backwards unless ``reset`` is called (a deliberate full resync)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import Column, MetaData, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from connectors.records import RawSnapshot
from ledger.sql import READ_ONLY, make_engine

metadata = MetaData()

connector_cursors = Table(
    "connector_cursors", metadata,
    Column("tenant", String(128), primary_key=True),
    Column("source", String(64), primary_key=True),
    Column("object", String(64), primary_key=True),
    Column("high_water", String(40), nullable=False),  # ISO-8601 UTC, fixed width: sortable as text
    Column("advanced_at", String(40), nullable=False),
)


def _text(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError(f"cursor marks must be timezone-aware, got naive {at.isoformat()}")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _instant(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class CursorStore:
    """Cursor table in the operational database (SQLite WAL embedded, PostgreSQL in AWS)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    def get(self, tenant: str, source: str) -> dict[str, datetime]:
        query = select(connector_cursors.c.object, connector_cursors.c.high_water).where(
            connector_cursors.c.tenant == tenant, connector_cursors.c.source == source)
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return {row.object: _instant(row.high_water) for row in conn.execute(query)}

    def advance(self, tenant: str, source: str, marks: Mapping[str, datetime]) -> None:
        """Move each object's mark forward to ``marks[object]``; a mark behind the stored one is ignored."""
        if not marks:
            return
        now = _text(datetime.now(UTC))
        insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        with self.engine.begin() as conn:
            for object_, at in sorted(marks.items()):
                stmt = insert(connector_cursors).values(
                    tenant=tenant, source=source, object=object_, high_water=_text(at), advanced_at=now)
                excluded = stmt.excluded
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=["tenant", "source", "object"],
                    set_={"high_water": excluded.high_water, "advanced_at": excluded.advanced_at},
                    where=connector_cursors.c.high_water < excluded.high_water))

    def reset(self, tenant: str, source: str) -> None:
        """Forget every cursor of (tenant, source): the next pull is a full resync."""
        with self.engine.begin() as conn:
            conn.execute(delete(connector_cursors).where(
                connector_cursors.c.tenant == tenant, connector_cursors.c.source == source))


class SnapshotWriter(Protocol):
    def write_snapshot(self, snapshot: RawSnapshot) -> list[str]: ...


def commit_pull(snapshot: RawSnapshot, store: SnapshotWriter, cursors: CursorStore) -> list[str]:
    """Write the snapshot, then advance the cursors it reached. Returns the keys written.

    If the write raises, the cursors stay where they were and the next pull covers the same records."""
    written = store.write_snapshot(snapshot)
    cursors.advance(snapshot.tenant, snapshot.source, snapshot.cursors)
    return written
