"""Append-only enforcement for ``ledger_entries`` inside the database.

SQLite: triggers abort every UPDATE and DELETE. PostgreSQL: a trigger refuses UPDATE, DELETE and
TRUNCATE for every role (the table's owner included, until someone with DDL rights drops it), and
``grant_append_only`` gives the application's role only SELECT and INSERT on the entries, so its
credentials cannot change history even with the trigger gone."""

from __future__ import annotations

import re

from sqlalchemy import Engine

_SQLITE = (
    """CREATE TRIGGER IF NOT EXISTS ledger_entries_no_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS ledger_entries_no_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END""",
)

_POSTGRES = (
    # One installer at a time: concurrent CREATE OR REPLACE of one function can fail.
    "SELECT pg_advisory_xact_lock(hashtext('revloop.ledger.append_only'))",
    # %% is one % once the driver has applied its format-style parameters.
    """CREATE OR REPLACE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
           RAISE EXCEPTION 'ledger_entries is append-only: %% refused', TG_OP
               USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE OR REPLACE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()""",
    """CREATE OR REPLACE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
       FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_append_only()""",
)

_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


_POSTGRES_INSTALLED = """SELECT count(*) FROM pg_trigger
    WHERE tgrelid = 'ledger_entries'::regclass
      AND tgname IN ('ledger_entries_no_change', 'ledger_entries_no_truncate')"""


def enforce_append_only(engine: Engine) -> None:
    """Install the triggers (idempotent). On PostgreSQL an installed pair is left alone, so the
    application's role, which may not run DDL, can open the ledger the owner prepared."""
    statements = {"sqlite": _SQLITE, "postgresql": _POSTGRES}.get(engine.dialect.name)
    if statements is None:
        raise ValueError(f"the ledger cannot enforce append-only on {engine.dialect.name!r}; "
                         "use SQLite or PostgreSQL")
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql" and conn.exec_driver_sql(_POSTGRES_INSTALLED).scalar() == 2:
            return
        for ddl in statements:
            conn.exec_driver_sql(ddl)


def grant_append_only(engine: Engine, role: str) -> None:
    """PostgreSQL: let ``role`` (the application's login) read and append ledger entries and move the
    chain heads, and nothing else on the ledger's tables. Run as the tables' owner."""
    if engine.dialect.name != "postgresql":
        raise ValueError("grants exist on PostgreSQL only; SQLite's triggers are its enforcement")
    if not _ROLE.match(role):
        raise ValueError(f"{role!r} is not a plain lower-case PostgreSQL role name")
    with engine.begin() as conn:
        for statement in (
            f"REVOKE ALL ON ledger_entries, ledger_heads FROM {role}",
            f"GRANT SELECT, INSERT ON ledger_entries TO {role}",
            f"GRANT SELECT, INSERT, UPDATE ON ledger_heads TO {role}",
            f"GRANT USAGE ON SEQUENCE ledger_entries_id_seq TO {role}",
        ):
            conn.exec_driver_sql(statement)
