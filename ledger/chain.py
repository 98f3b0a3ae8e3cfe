"""The hash-chain check over stored rows, written once for both the in-process verifier and the worker
processes of ``ledger.verify_ranges`` (so it imports nothing heavier than hashlib and json).

A run of rows is checked from a known position: ``first_seq`` and the ``prev_hash`` its first row must
carry (the genesis hash, or the entry hash of the row before the run)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from ledger.header import entry_header_bytes, plain_header_bytes, plain_text

_MAX_SAFE_INTEGER = 2**53 - 1

# A stored row as a plain tuple: seq, tenant, kind, actor, recorded_at, payload (the stored JSON text's
# UTF-8 bytes: ``CAST(payload AS BLOB)``, so it is hashed without a decode and re-encode), payload_digest,
# prev_hash, entry_hash. The fast paths read these straight from the database cursor.
RowTuple = tuple[int, str, str, str, str, bytes, str, str, str]


class ChainBreak(Exception):  # noqa: N818 - a finding, raised inside the ledger and re-raised typed
    """The first bad row of a run: its seq and what is wrong (``ledger.verify`` names the tenant)."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(seq, reason)
        self.seq = seq
        self.reason = reason


def check_run(tenant: str, rows: Iterable[RowTuple], first_seq: int, first_prev: str) -> list[bytes]:
    """Check rows in seq order starting at ``first_seq``; raises ChainBreak at the first bad one.
    Returns each entry hash as 32 raw bytes, in seq order: the Merkle leaf data."""
    sha256 = hashlib.sha256
    fromhex = bytes.fromhex
    expected_seq = first_seq
    expected_prev = first_prev
    leaves: list[bytes] = []
    append = leaves.append
    plain_names: dict[tuple[str, str, str], bool] = {}
    for seq, row_tenant, kind, actor, recorded_at, payload, digest, prev, stored_hash in rows:
        if row_tenant != tenant:
            raise ChainBreak(seq, f"row belongs to tenant {row_tenant!r}")
        if seq != expected_seq:
            raise ChainBreak(expected_seq, f"sequence gap: expected seq {expected_seq}, found {seq}")
        # The store writes the canonical bytes it hashed, so hashing the stored text is enough;
        # only a mismatch pays for parsing and re-canonicalising.
        if sha256(payload).hexdigest() != digest:
            check_payload_value(seq, payload, digest)
        if prev != expected_prev:
            raise ChainBreak(seq, "prev_hash does not link to the entry before")
        # digest matched a hexdigest and prev_hash the hash before; whether the plain template holds
        # the other strings, which repeat across rows, is decided once per combination.
        names = (kind, actor, recorded_at)
        plain = plain_names.get(names)
        if plain is None:
            plain = plain_names[names] = plain_text(tenant + kind + actor + recorded_at + prev)
        if plain and seq <= _MAX_SAFE_INTEGER:
            header = plain_header_bytes(seq, tenant, kind, actor, recorded_at, digest, prev)
        else:
            header = entry_header_bytes(seq=seq, tenant=tenant, kind=kind, actor=actor,
                                        recorded_at=recorded_at, payload_digest=digest, prev_hash=prev)
        if sha256(header).hexdigest() != stored_hash:
            raise ChainBreak(seq, "entry_hash does not match the entry")
        append(fromhex(stored_hash))
        expected_prev = stored_hash
        expected_seq += 1
        if len(plain_names) > 4096:  # many distinct timestamps: keep the cache small
            plain_names.clear()
    return leaves


def check_payload_value(seq: int, payload_json: str | bytes, digest: str) -> None:
    """The slow path: parse the stored text and hash its canonical form (text written otherwise)."""
    from ledger.entry import payload_digest

    try:
        payload = json.loads(payload_json)
    except ValueError as exc:
        raise ChainBreak(seq, f"payload is not JSON ({exc})") from exc
    if payload_digest(payload) != digest:
        raise ChainBreak(seq, "payload does not match its digest")
