"""The one place the operational store differs between SQLite and PostgreSQL: how writers serialise.

SQLite (``ledger.sql.make_engine``) opens every write transaction with BEGIN IMMEDIATE, so a whole
read-check-write already runs alone. PostgreSQL runs transactions concurrently under READ COMMITTED;
there the store takes a transaction-scoped advisory lock on the key it is about to read and change
(one proposal, the ready sequence), which gives the same "check then write" guarantee per key."""

from __future__ import annotations

from sqlalchemy import Connection, text

_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


def is_postgres(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql"


def lock_key(conn: Connection, key: str) -> None:
    """Hold ``key`` until this transaction ends; a no-op on SQLite, whose writers are already serial."""
    if is_postgres(conn):
        conn.execute(_ADVISORY_LOCK, {"key": key})


def proposal_lock(proposal_id: str) -> str:
    return f"revloop.proposal:{proposal_id}"


READY_SEQUENCE_LOCK = "revloop.ready_seq"
