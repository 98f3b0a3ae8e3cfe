"""RELIABILITY item 8: a 100,000-entry ledger (1,000 tenants x 100 entries), one checkpoint per tenant
held outside the database, then 1,000 single tampers in a copy of the database with the append-only
triggers dropped: one per tenant, six kinds. Every one is detected and the first bad entry named."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path

import pytest

from ledger.checkpoints import SignedCheckpoint
from ledger.entry import canonical_json, entry_hash, payload_digest
from ledger.proofs import CheckpointMismatchError, take_checkpoint, verify_against_checkpoint
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from ledger.verify import LedgerVerificationError
from tests.unit.test_ledger_checkpoints import FakeSigner, InMemoryCheckpointStore, rewrite_tail

TENANTS = 1_000
PER_TENANT = 100
KINDS = ["payload_byte", "delete", "swap", "insert", "truncate", "rewrite_tail"]


def tenant_name(i: int) -> str:
    return f"t{i:04d}"


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeSigner, dict[str, str]]:
    db = tmp_path_factory.mktemp("tamper") / "ledger.db"
    ledger = Ledger(sqlite_url(db))
    for start in range(0, TENANTS, 100):
        ledger.append_many([NewEntry(tenant_name(t), "signal.raised", "perception",
                                     {"n": n, "account": f"acct-{n % 17}", "score": 0.25})
                            for t in range(start, start + 100) for n in range(PER_TENANT)])
    signer, store = FakeSigner(), InMemoryCheckpointStore()
    notes = {tenant_name(t): take_checkpoint(ledger, tenant_name(t), signer, store)[0].note
             for t in range(TENANTS)}
    ledger.engine.dispose()
    return db, signer, notes


def copy_of(db: Path, target: Path) -> Path:
    source, copy = sqlite3.connect(db), sqlite3.connect(target)
    source.backup(copy)
    source.close()
    copy.close()
    return target


def forge_insert(conn: sqlite3.Connection, tenant: str, k: int) -> None:
    """Shift entries k.. up by one and insert a well-formed forged entry at k, linked to k - 1."""
    conn.execute("UPDATE ledger_entries SET seq = -seq - 1 WHERE tenant = ? AND seq >= ?", (tenant, k))
    conn.execute("UPDATE ledger_entries SET seq = -seq WHERE tenant = ? AND seq < 0", (tenant,))
    prev = conn.execute("SELECT entry_hash, recorded_at FROM ledger_entries WHERE tenant = ? AND seq = ?",
                        (tenant, k - 1)).fetchone()
    payload = {"forged": True}
    digest = payload_digest(payload)
    forged = entry_hash(seq=k, tenant=tenant, kind="signal.raised", actor="perception",
                        recorded_at=prev[1], payload_digest=digest, prev_hash=prev[0])
    conn.execute("INSERT INTO ledger_entries (tenant, seq, kind, actor, recorded_at, payload, "
                 "payload_digest, prev_hash, entry_hash) VALUES (?, ?, 'signal.raised', 'perception', "
                 "?, ?, ?, ?, ?)", (tenant, k, prev[1], canonical_json(payload).decode(), digest, prev[0],
                                    forged))


def tamper(conn: sqlite3.Connection, tenant: str, kind: str, k: int) -> None:
    if kind == "payload_byte":
        (payload,) = conn.execute("SELECT payload FROM ledger_entries WHERE tenant = ? AND seq = ?",
                                  (tenant, k)).fetchone()
        changed = payload.replace('"score":0.25', '"score":0.35')
        assert changed != payload
        conn.execute("UPDATE ledger_entries SET payload = ? WHERE tenant = ? AND seq = ?",
                     (changed, tenant, k))
    elif kind == "delete":
        conn.execute("DELETE FROM ledger_entries WHERE tenant = ? AND seq = ?", (tenant, k))
    elif kind == "swap":
        conn.execute("UPDATE ledger_entries SET seq = -1 WHERE tenant = ? AND seq = ?", (tenant, k))
        conn.execute("UPDATE ledger_entries SET seq = ? WHERE tenant = ? AND seq = ?", (k, tenant, k + 1))
        conn.execute("UPDATE ledger_entries SET seq = ? WHERE tenant = ? AND seq = -1", (k + 1, tenant))
    elif kind == "insert":
        forge_insert(conn, tenant, k)
    elif kind == "truncate":
        conn.execute("DELETE FROM ledger_entries WHERE tenant = ? AND seq >= ?", (tenant, k))


def test_a_thousand_single_tampers_are_each_detected_and_located(
        checkpointed: tuple[Path, FakeSigner, dict[str, str]], tmp_path: Path) -> None:
    db, signer, notes = checkpointed
    copy = copy_of(db, tmp_path / "tampered.db")
    rng = random.Random(8)
    plan: dict[str, tuple[str, int]] = {}
    conn = sqlite3.connect(copy, isolation_level=None)
    conn.execute("DROP TRIGGER ledger_entries_no_update")
    conn.execute("DROP TRIGGER ledger_entries_no_delete")
    conn.execute("BEGIN")
    for t in range(TENANTS):
        kind = KINDS[t % len(KINDS)]
        k = rng.randint(2, PER_TENANT - 1)
        plan[tenant_name(t)] = (kind, k)
        if kind != "rewrite_tail":
            tamper(conn, tenant_name(t), kind, k)
    conn.execute("COMMIT")
    conn.close()
    for tenant, (kind, k) in plan.items():
        if kind == "rewrite_tail":
            rewrite_tail(copy, tenant, k)

    ledger = Ledger(sqlite_url(copy))
    started = time.perf_counter()
    located: dict[str, int] = {kind: 0 for kind in KINDS}
    for tenant, (kind, k) in plan.items():
        with pytest.raises(LedgerVerificationError) as info:
            verify_against_checkpoint(ledger, notes[tenant], signer.public_key())
        error = info.value
        assert error.tenant == tenant
        if kind == "rewrite_tail":
            assert isinstance(error, CheckpointMismatchError) and error.seq <= k <= error.last_seq, (k, error)
        elif kind == "insert":  # the forged entry is well-formed; the next one no longer links to it
            assert error.seq == k + 1 and "prev_hash does not link" in error.reason
        else:
            assert error.seq == k, (kind, k, error)
        located[kind] += 1
    elapsed = time.perf_counter() - started
    assert sum(located.values()) == TENANTS and min(located.values()) >= TENANTS // len(KINDS)
    print(f"verified 1,000 tampered tenants ({TENANTS * PER_TENANT:,} entries) in {elapsed:.2f} s")


def test_the_untouched_copy_verifies_against_every_checkpoint(
        checkpointed: tuple[Path, FakeSigner, dict[str, str]], tmp_path: Path) -> None:
    db, signer, notes = checkpointed
    ledger = Ledger(sqlite_url(copy_of(db, tmp_path / "clean.db")))
    sizes = {verify_against_checkpoint(ledger, notes[t], signer.public_key()).size for t in notes}
    assert sizes == {PER_TENANT}
    assert ledger.verify().total == TENANTS * PER_TENANT
    assert {SignedCheckpoint.parse(n).size for n in notes.values()} == {PER_TENANT}


def test_the_application_cannot_update_or_delete_rows(
        checkpointed: tuple[Path, FakeSigner, dict[str, str]], tmp_path: Path) -> None:
    db, _, _ = checkpointed
    conn = sqlite3.connect(copy_of(db, tmp_path / "guarded.db"), isolation_level=None)
    before = conn.execute("SELECT count(*), sum(length(payload)) FROM ledger_entries").fetchone()
    for statement in ("UPDATE ledger_entries SET payload = '{}' WHERE seq = 5",
                      "DELETE FROM ledger_entries WHERE tenant = 't0001'",
                      "UPDATE ledger_entries SET entry_hash = prev_hash"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(statement)
    assert conn.execute("SELECT count(*), sum(length(payload)) FROM ledger_entries").fetchone() == before
    assert json.loads(conn.execute("SELECT payload FROM ledger_entries LIMIT 1").fetchone()[0])["n"] == 0
