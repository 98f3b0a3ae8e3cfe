"""RELIABILITY item 9 on PostgreSQL (a real server from scripts/ensure_postgres.sh): the ledger appends and
verifies there; UPDATE, DELETE and TRUNCATE of its entries are refused by a trigger for every role, and
the application's role, holding only the grants ``grant_append_only`` gives, cannot change a row even
once the trigger is dropped. 0 rows change."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from ledger.append_only import grant_append_only
from ledger.store import Ledger, NewEntry
from tests.integration.test_actions_store_postgres_support import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures used below

CHANGES = ("UPDATE ledger_entries SET payload = '{}' WHERE seq = 2",
           "DELETE FROM ledger_entries WHERE tenant = 'acme'",
           "UPDATE ledger_entries SET entry_hash = prev_hash",
           "TRUNCATE ledger_entries")


def filled(url: str) -> Ledger:
    ledger = Ledger(url)
    ledger.append_many([NewEntry(t, "signal.raised", "perception", {"n": n, "score": 0.25})
                        for t in ("acme", "globex") for n in range(5)])
    return ledger


def fingerprint(url: str) -> tuple[int, str]:
    with create_engine(url).connect() as conn:
        count, digest = conn.execute(text(
            "SELECT count(*), md5(string_agg(entry_hash || payload, ',' ORDER BY tenant, seq)) "
            "FROM ledger_entries")).one()
    return count, digest


def test_the_ledger_appends_and_verifies_on_postgresql(postgres_url: str) -> None:
    ledger = filled(postgres_url)
    ledger.append("acme", "review.decided", "rita", {"verdict": "approve"})
    assert ledger.verify().entries_by_tenant == {"acme": 6, "globex": 5}
    assert [e.seq for e in ledger.entries("acme")] == [1, 2, 3, 4, 5, 6]
    assert Ledger(postgres_url).verify().total == 11  # opening again installs nothing twice


@pytest.mark.parametrize("statement", CHANGES)
def test_every_role_is_refused_by_the_trigger(postgres_url: str, statement: str) -> None:
    filled(postgres_url).engine.dispose()
    before = fingerprint(postgres_url)
    with create_engine(postgres_url).connect() as conn, pytest.raises(DBAPIError, match="append-only"):
        conn.execute(text(statement))
    assert fingerprint(postgres_url) == before


def test_the_application_role_cannot_change_rows_even_without_the_trigger(postgres_url: str) -> None:
    owner = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    filled(postgres_url)
    with owner.connect() as conn:
        conn.execute(text("DROP ROLE IF EXISTS revloop_app"))
        conn.execute(text("CREATE ROLE revloop_app LOGIN"))
    grant_append_only(owner, "revloop_app")
    app_url = postgres_url.replace("//revloop@", "//revloop_app@")
    app = Ledger(app_url)  # the app opens the ledger without DDL rights, and appends
    app.append("globex", "action.completed", "executor", {"ok": True})
    assert app.verify().entries_by_tenant == {"acme": 5, "globex": 6}
    with owner.connect() as conn:
        conn.execute(text("DROP TRIGGER ledger_entries_no_change ON ledger_entries"))
        conn.execute(text("DROP TRIGGER ledger_entries_no_truncate ON ledger_entries"))
    before = fingerprint(postgres_url)
    for statement in CHANGES:
        with create_engine(app_url).connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text(statement))
    assert fingerprint(postgres_url) == before
    app.engine.dispose()
    with owner.connect() as conn:
        conn.execute(text("REASSIGN OWNED BY revloop_app TO revloop"))
        conn.execute(text("DROP OWNED BY revloop_app"))
        conn.execute(text("DROP ROLE revloop_app"))
