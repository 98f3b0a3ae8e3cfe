"""Signed checkpoints: the note format, the key file signer, verification against a checkpoint and
inclusion bundles a third party can check."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointExistsError,
    SignedCheckpoint,
    checkpoint_name,
    latest,
)
from ledger.entry import canonical_json, entry_hash, payload_digest
from ledger.merkle import MerkleTree
from ledger.merkle_verify import ProofError
from ledger.note import NoteError, open_note, parse_verifier_key, sign_note, verifier_key
from ledger.proofs import (
    CheckpointMismatchError,
    make_checkpoint,
    prove,
    take_checkpoint,
    verify_against_checkpoint,
    verify_bundle,
)
from ledger.signers import Ed25519KeyFileSigner, SignerError
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from ledger.verify import LedgerVerificationError

AT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class InMemoryCheckpointStore:
    """A CheckpointStore fake: outside the database, write-once per (tenant, size)."""

    def __init__(self) -> None:
        self.notes: dict[str, str] = {}

    def put(self, signed: SignedCheckpoint) -> str:
        name = checkpoint_name(signed.tenant, signed.size)
        if name in self.notes:
            raise CheckpointExistsError(f"{name} already exists")
        self.notes[name] = signed.note
        return f"memory:{name}"

    def get(self, tenant: str, size: int) -> str | None:
        return self.notes.get(checkpoint_name(tenant, size))

    def sizes(self, tenant: str) -> list[int]:
        return sorted(int(n.split("/")[1][:-5]) for n in self.notes if n.startswith(f"{tenant}/"))


class FakeSigner:
    def __init__(self, name: str = "test-key") -> None:
        self._key = Ed25519PrivateKey.generate()
        self.name = name

    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def filled(tmp_path: Path, count: int = 10, tenant: str = "acme") -> Ledger:
    ledger = Ledger(sqlite_url(tmp_path / "ledger.db"))
    ledger.append_many([NewEntry(tenant, "signal.raised", "perception", {"i": i}) for i in range(count)])
    return ledger


def raw_tamper(db: Path, *statements: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
    conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
    for statement in statements:
        conn.execute(statement, params)
    conn.close()


# --- signed notes and keys ---------------------------------------------------------------------------

def test_key_file_is_created_0600_reused_and_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "secrets" / "ledger.pem"
    first = Ed25519KeyFileSigner(path)
    assert path.stat().st_mode & 0o777 == 0o600
    again = Ed25519KeyFileSigner(path)
    assert verifier_key(first.name, first.public_key()) == verifier_key(again.name, again.public_key())
    secret = path.read_text()
    assert "PRIVATE KEY" in secret
    assert secret not in repr(first) and "PRIVATE" not in repr(first)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.pem"
    Ed25519KeyFileSigner(path)
    path.chmod(0o644)
    with pytest.raises(SignerError, match="chmod 600"):
        Ed25519KeyFileSigner(path)


def test_note_signature_covers_every_byte_and_names_the_key() -> None:
    signer = FakeSigner()
    note = sign_note("origin\n5\nroot\n", signer)
    assert note.startswith("origin\n5\nroot\n\n\u2014 test-key ")
    assert open_note(note, signer.public_key()) == ("origin\n5\nroot\n", "test-key")
    with pytest.raises(NoteError, match="altered"):
        open_note(note.replace("5", "6", 1), signer.public_key())
    with pytest.raises(NoteError, match="no signature on the note is by the given public key"):
        open_note(note, FakeSigner().public_key())


def test_verifier_key_round_trips_and_rejects_a_wrong_id() -> None:
    signer = FakeSigner("revloop-ledger")
    vkey = verifier_key(signer.name, signer.public_key())
    name, key = parse_verifier_key(vkey)
    assert name == "revloop-ledger" and verifier_key(name, key) == vkey
    with pytest.raises(NoteError, match="does not match"):
        parse_verifier_key(vkey.replace("revloop-ledger", "other-name"))


# --- checkpoint format --------------------------------------------------------------------------------

def test_checkpoint_body_is_the_documented_text() -> None:
    tree = MerkleTree.from_data([bytes([i]) * 32 for i in range(7)])
    checkpoint = make_checkpoint(tree, "acme", AT)
    lines = checkpoint.body().split("\n")
    assert lines[0] == "revloop/ledger/acme" and lines[1] == "7"
    assert base64.b64decode(lines[2]) == tree.root()
    assert lines[3] == "time 2025-03-01T12:00:00.000000Z"
    assert lines[4].split(" ")[0] == "subtrees" and len(lines[4].split(" ")) == 4  # 4 + 2 + 1 leaves
    assert lines[5] == ""
    assert Checkpoint.parse(checkpoint.body()) == checkpoint
    empty = make_checkpoint(MerkleTree(), "acme", AT)
    assert Checkpoint.parse(empty.body()) == empty


def test_checkpoints_with_inconsistent_subtrees_or_bad_tenants_are_refused() -> None:
    tree = MerkleTree.from_data([bytes([i]) for i in range(5)])
    good = make_checkpoint(tree, "acme", AT)
    with pytest.raises(CheckpointError, match="do not hash to its root"):
        Checkpoint("acme", 5, good.root, AT, (good.subtrees[0], good.subtrees[0]))
    with pytest.raises(CheckpointError, match="cannot name a checkpoint log"):
        make_checkpoint(tree, "../etc", AT)
    with pytest.raises(CheckpointError, match="not a revloop ledger checkpoint"):
        Checkpoint.parse(good.body().replace("time ", "when "))


# --- taking and verifying -----------------------------------------------------------------------------

def test_take_checkpoint_is_write_once_and_idempotent(tmp_path: Path) -> None:
    ledger, signer, store = filled(tmp_path), FakeSigner(), InMemoryCheckpointStore()
    signed, where = take_checkpoint(ledger, "acme", signer, store, AT)
    assert where == "memory:acme/00000000000000000010.note" and signed.size == 10
    again, where_again = take_checkpoint(ledger, "acme", signer, store, AT)
    assert where_again is None and again.note == signed.note
    with pytest.raises(CheckpointExistsError):
        store.put(signed)
    ledger.append("acme", "k", "a", {})
    newer, _ = take_checkpoint(ledger, "acme", signer, store, AT)
    assert store.sizes("acme") == [10, 11] and latest(store, "acme") == newer


def test_verify_passes_on_an_untouched_and_on_a_grown_ledger(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    report = verify_against_checkpoint(ledger, signed, signer.public_key())
    assert (report.tenant, report.checkpoint_size, report.size) == ("acme", 10, 10)
    ledger.append_many([NewEntry("acme", "k", "a", {"more": i}) for i in range(7)])
    report = verify_against_checkpoint(ledger, signed.note, signer.public_key())
    assert (report.checkpoint_size, report.size) == (10, 17)


def test_a_checkpoint_by_another_key_or_altered_is_refused(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    with pytest.raises(CheckpointError, match="signature"):
        verify_against_checkpoint(ledger, signed, FakeSigner().public_key())
    with pytest.raises(CheckpointError, match="altered"):
        verify_against_checkpoint(ledger, signed.note.replace("\n10\n", "\n9\n"), signer.public_key())


def test_a_truncated_tail_is_caught_by_the_checkpoint(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    raw_tamper(tmp_path / "ledger.db", "DELETE FROM ledger_entries WHERE seq > 6")
    assert ledger.verify().total == 6  # the chain alone cannot tell
    with pytest.raises(LedgerVerificationError) as info:
        verify_against_checkpoint(ledger, signed, signer.public_key())
    assert (info.value.tenant, info.value.seq) == ("acme", 7)
    assert "entries 7..10 are missing" in str(info.value)


def rewrite_tail(db: Path, tenant: str, from_seq: int) -> None:
    """What an attacker with write access does: change one payload and recompute every hash after it."""
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
    rows = conn.execute("SELECT id, seq, kind, actor, recorded_at, payload, prev_hash FROM ledger_entries "
                        "WHERE tenant = ? AND seq >= ? ORDER BY seq", (tenant, from_seq)).fetchall()
    prev = rows[0][6]
    conn.execute("BEGIN")
    for row_id, seq, kind, actor, recorded_at, payload, _ in rows:
        value = json.loads(payload)
        if seq == from_seq:
            value["forged"] = True
        digest = payload_digest(value)
        new_hash = entry_hash(seq=seq, tenant=tenant, kind=kind, actor=actor, recorded_at=recorded_at,
                              payload_digest=digest, prev_hash=prev)
        conn.execute("UPDATE ledger_entries SET payload = ?, payload_digest = ?, prev_hash = ?, "
                     "entry_hash = ? WHERE id = ?",
                     (canonical_json(value).decode(), digest, prev, new_hash, row_id))
        prev = new_hash
    conn.execute("COMMIT")
    conn.close()


def test_a_rewritten_tail_is_caught_and_narrowed_to_a_subtree(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path, count=100), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    rewrite_tail(tmp_path / "ledger.db", "acme", 70)
    assert ledger.verify().total == 100  # the chain is self-consistent again
    with pytest.raises(CheckpointMismatchError) as info:
        verify_against_checkpoint(ledger, signed, signer.public_key())
    assert (info.value.seq, info.value.last_seq) == (65, 96)  # 100 = 64 + 32 + 4; seq 70 is in 65..96
    with pytest.raises(CheckpointMismatchError):  # and no new checkpoint papers over it
        take_checkpoint(ledger, "acme", signer, _held(signed), AT)


def _held(signed: SignedCheckpoint) -> InMemoryCheckpointStore:
    store = InMemoryCheckpointStore()
    store.put(signed)
    return store


def test_tenants_are_verified_against_their_own_checkpoints(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path), FakeSigner()
    ledger.append_many([NewEntry("globex", "k", "a", {"i": i}) for i in range(4)])
    store = InMemoryCheckpointStore()
    acme, _ = take_checkpoint(ledger, "acme", signer, store, AT)
    globex, _ = take_checkpoint(ledger, "globex", signer, store, AT)
    raw_tamper(tmp_path / "ledger.db", "UPDATE ledger_entries SET payload = '{\"i\":99}' "
                                       "WHERE tenant = 'acme' AND seq = 3")
    assert verify_against_checkpoint(ledger, globex, signer.public_key()).size == 4
    with pytest.raises(LedgerVerificationError) as info:
        verify_against_checkpoint(ledger, acme, signer.public_key())
    assert (info.value.tenant, info.value.seq) == ("acme", 3)


# --- inclusion bundles --------------------------------------------------------------------------------

def test_every_entry_gets_a_bundle_that_verifies(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path, count=13), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    ledger.append("acme", "k", "a", {"after": "checkpoint"})  # proofs stay against the checkpoint's size
    for seq in range(1, 14):
        bundle = json.loads(json.dumps(prove(ledger, "acme", seq, signed)))
        assert bundle["tree_size"] == 13 and bundle["leaf_index"] == seq - 1
        verify_bundle(bundle, signer.public_key())
    with pytest.raises(ValueError, match="take a newer checkpoint"):
        prove(ledger, "acme", 14, signed)


def corrupted_bundles(bundle: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
        out = json.loads(json.dumps(bundle))
        target = out
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return out

    def flip_hex(value: str) -> str:
        return ("1" if value[0] == "0" else "0") + value[1:]

    cases = [
        ("leaf_index + 1", changed(("leaf_index",), bundle["leaf_index"] + 1)),
        ("tree_size * 2", changed(("tree_size",), bundle["tree_size"] * 2)),
        ("tree_size - 1", changed(("tree_size",), bundle["tree_size"] - 1)),
        ("root", changed(("root",), flip_hex(bundle["root"]))),
        ("leaf_hash", changed(("leaf_hash",), flip_hex(bundle["leaf_hash"]))),
        ("payload", changed(("entry", "payload"), bundle["entry"]["payload"].replace("}", ",\"x\":1}"))),
        ("kind", changed(("entry", "kind"), "other.kind")),
        ("seq", changed(("entry", "seq"), bundle["entry"]["seq"] + 1)),
        ("entry_hash", changed(("entry", "entry_hash"), flip_hex(bundle["entry"]["entry_hash"]))),
        ("checkpoint", changed(("checkpoint",), bundle["checkpoint"].replace("\n13\n", "\n12\n"))),
        ("no path", changed(("audit_path",), [])),
    ]
    for i, element in enumerate(bundle["audit_path"]):
        path = list(bundle["audit_path"])
        path[i] = flip_hex(element)
        cases.append((f"audit_path[{i}]", changed(("audit_path",), path)))
    return cases


def test_every_corruption_of_a_bundle_is_rejected(tmp_path: Path) -> None:
    ledger, signer = filled(tmp_path, count=13), FakeSigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore(), AT)
    bundle = prove(ledger, "acme", 6, signed)
    accepted = []
    for name, bad in corrupted_bundles(bundle):
        try:
            verify_bundle(bad, signer.public_key())
        except (ProofError, CheckpointError):
            continue
        accepted.append(name)
    assert accepted == []
