"""The hash-chained ledger: entries anyone can recompute, rows the app cannot change, and a verifier
that names the first bad entry. Limits are documented as tests too (a truncated tail needs a checkpoint)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from ledger.entry import GENESIS_HASH, canonical_json, payload_digest
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from ledger.verify import LedgerVerificationError


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


def filled(db: Path, tenant: str = "acme", count: int = 5) -> Ledger:
    ledger = Ledger(sqlite_url(db))
    for i in range(count):
        ledger.append(tenant, "signal.raised", "perception", {"n": i, "note": f"entry {i}"})
    return ledger


def raw(db: Path) -> sqlite3.Connection:
    """A plain connection, as an operator or attacker with file access would have."""
    return sqlite3.connect(db, isolation_level=None)


def independent_hash(row: dict[str, Any]) -> str:
    # For ASCII strings and small integers, RFC 8785 equals sorted-key compact JSON.
    header = {k: row[k] for k in ("seq", "tenant", "kind", "actor", "recorded_at", "payload_digest",
                                  "prev_hash")}
    return hashlib.sha256(json.dumps(header, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_entries_link_from_genesis_and_hash_recomputably(db: Path) -> None:
    entries = filled(db).entries("acme")
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == GENESIS_HASH
    for before, after in zip(entries, entries[1:], strict=False):
        assert after.prev_hash == before.entry_hash
    for e in entries:
        payload_bytes = json.dumps(e.payload, sort_keys=True, separators=(",", ":")).encode()
        assert e.payload_digest == hashlib.sha256(payload_bytes).hexdigest()
        assert e.entry_hash == independent_hash(e.model_dump())


def test_payload_digest_ignores_key_order_but_not_values() -> None:
    assert payload_digest({"a": 1, "b": [1, 2]}) == payload_digest({"b": [1, 2], "a": 1})
    assert payload_digest({"a": 1}) != payload_digest({"a": 2})
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"é","b":1}'.encode()


def test_append_many_chains_in_the_order_given(db: Path) -> None:
    ledger = Ledger(sqlite_url(db))
    sealed = ledger.append_many([NewEntry("acme", "k", "a", {"i": i}) for i in range(3)])
    assert [e.payload["i"] for e in ledger.entries("acme")] == [0, 1, 2]
    assert sealed[2].prev_hash == sealed[1].entry_hash
    assert ledger.entries("acme", kind="k") == sealed and ledger.entries("acme", kind="other") == []


def test_a_reopened_ledger_continues_the_chain(db: Path) -> None:
    last = filled(db, count=2).entries("acme")[-1]
    entry = Ledger(sqlite_url(db)).append("acme", "k", "a", {})
    assert (entry.seq, entry.prev_hash) == (3, last.entry_hash)
    assert Ledger(sqlite_url(db)).verify().total == 3


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_entries SET payload = '{\"n\":99}' WHERE seq = 2",
    "DELETE FROM ledger_entries WHERE seq = 2",
    "DELETE FROM ledger_entries",
])
def test_triggers_refuse_update_and_delete(db: Path, statement: str) -> None:
    filled(db)
    conn = raw(db)
    before = conn.execute("SELECT * FROM ledger_entries ORDER BY id").fetchall()
    with pytest.raises(sqlite3.DatabaseError, match="ledger_entries is append-only"):
        conn.execute(statement)
    assert conn.execute("SELECT * FROM ledger_entries ORDER BY id").fetchall() == before


def tamper(db: Path, *statements: str) -> None:
    conn = raw(db)
    conn.execute("DROP TRIGGER ledger_entries_no_update")
    conn.execute("DROP TRIGGER ledger_entries_no_delete")
    for statement in statements:
        conn.execute(statement)
    conn.close()


def test_verify_passes_an_untouched_ledger(db: Path) -> None:
    report = filled(db).verify()
    assert report.entries_by_tenant == {"acme": 5} and report.total == 5


def test_a_changed_payload_is_named(db: Path) -> None:
    ledger = filled(db)
    tamper(db, "UPDATE ledger_entries SET payload = '{\"n\":2,\"note\":\"entry 2!\"}' WHERE seq = 3")
    with pytest.raises(LedgerVerificationError) as info:
        ledger.verify()
    assert (info.value.tenant, info.value.seq) == ("acme", 3)
    assert "payload does not match its digest" in str(info.value)


def test_a_changed_payload_with_its_digest_recomputed_breaks_the_entry_hash(db: Path) -> None:
    ledger = filled(db)
    forged = {"n": 2, "note": "forged"}
    tamper(db, f"UPDATE ledger_entries SET payload = '{json.dumps(forged, separators=(',', ':'))}', "
               f"payload_digest = '{payload_digest(forged)}' WHERE seq = 3")
    with pytest.raises(LedgerVerificationError, match="seq=3 is bad: entry_hash does not match"):
        ledger.verify("acme")


def test_a_deleted_row_is_named(db: Path) -> None:
    ledger = filled(db)
    tamper(db, "DELETE FROM ledger_entries WHERE seq = 3")
    with pytest.raises(LedgerVerificationError) as info:
        ledger.verify()
    assert info.value.seq == 3 and "sequence gap: expected seq 3, found 4" in str(info.value)


def test_swapped_rows_are_named(db: Path) -> None:
    ledger = filled(db)
    # swap the positions of entries 2 and 3 (seq is unique, so go through a free value)
    tamper(db, "UPDATE ledger_entries SET seq = -1 WHERE seq = 2",
           "UPDATE ledger_entries SET seq = 2 WHERE seq = 3",
           "UPDATE ledger_entries SET seq = 3 WHERE seq = -1")
    with pytest.raises(LedgerVerificationError) as info:
        ledger.verify()
    assert info.value.seq == 2
    assert "prev_hash does not link" in str(info.value)


def test_a_truncated_tail_is_not_detectable_without_a_checkpoint(db: Path) -> None:
    """Known limit: dropping the newest entries leaves a valid shorter chain. Only a checkpoint held
    outside the database (tree size + root) reveals it; the chain alone cannot."""
    ledger = filled(db)
    tamper(db, "DELETE FROM ledger_entries WHERE seq > 3")
    assert ledger.verify().entries_by_tenant == {"acme": 3}


def test_two_tenants_chains_are_independent(db: Path) -> None:
    ledger = Ledger(sqlite_url(db))
    ledger.append_many([NewEntry(t, "k", "a", {"i": i}) for i in range(3) for t in ("acme", "globex")])
    acme, globex = ledger.entries("acme"), ledger.entries("globex")
    assert [e.seq for e in acme] == [e.seq for e in globex] == [1, 2, 3]
    assert acme[0].prev_hash == globex[0].prev_hash == GENESIS_HASH
    assert {e.entry_hash for e in acme}.isdisjoint({e.entry_hash for e in globex})
    assert all(e.tenant == "globex" for e in globex)

    tamper(db, "UPDATE ledger_entries SET payload = '{\"i\":9}' WHERE tenant = 'acme' AND seq = 2")
    assert ledger.verify("globex").entries_by_tenant == {"globex": 3}
    assert ledger.append("globex", "k", "a", {}).seq == 4  # globex keeps appending
    with pytest.raises(LedgerVerificationError) as info:
        ledger.verify()
    assert (info.value.tenant, info.value.seq) == ("acme", 2)


def test_a_row_moved_to_another_tenant_is_refused(db: Path) -> None:
    ledger = Ledger(sqlite_url(db))
    ledger.append_many([NewEntry(t, "k", "a", {"i": 1}) for t in ("acme", "globex")])
    tamper(db, "UPDATE ledger_entries SET tenant = 'acme', seq = 2 WHERE tenant = 'globex'")
    with pytest.raises(LedgerVerificationError) as info:
        ledger.verify("acme")
    assert info.value.seq == 2


def test_heads_name_each_tenants_newest_entry(tmp_path) -> None:
    from ledger.store import Ledger

    ledger = Ledger(f"sqlite:///{tmp_path / 'heads.sqlite'}")
    for i in range(3):
        ledger.append("acme", "k", "t", {"i": i})
    last_globex = ledger.append("globex", "k", "t", {"i": 0})
    heads = ledger.heads()
    assert heads["acme"] == (3, ledger.entries("acme")[-1].entry_hash)
    assert heads["globex"] == (1, last_globex.entry_hash)
