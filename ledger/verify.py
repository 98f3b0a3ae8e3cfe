"""Chain verification: pure functions that return nothing or raise one typed error naming the first
bad entry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.entry import GENESIS_HASH, payload_digest
from ledger.header import entry_header_bytes


class LedgerVerificationError(Exception):
    def __init__(self, tenant: str, seq: int, reason: str) -> None:
        super().__init__(f"ledger entry tenant={tenant} seq={seq} is bad: {reason}")
        self.tenant = tenant
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class StoredRow:
    """A ledger row exactly as the database holds it (payload as its stored JSON text)."""

    seq: int
    tenant: str
    kind: str
    actor: str
    recorded_at: str
    payload_json: str
    payload_digest: str
    prev_hash: str
    entry_hash: str


# A stored row as a plain tuple, in StoredRow's field order: the fast path reads these straight from
# the database cursor.
RowTuple = tuple[int, str, str, str, str, str, str, str, str]


def verify_chain(tenant: str, rows: Iterable[StoredRow]) -> int:
    """Check one tenant's rows in seq order; returns how many were verified."""
    return len(chain_leaves(tenant, ((r.seq, r.tenant, r.kind, r.actor, r.recorded_at, r.payload_json,
                                      r.payload_digest, r.prev_hash, r.entry_hash) for r in rows)))


def chain_leaves(tenant: str, rows: Iterable[RowTuple]) -> list[bytes]:
    """Check one tenant's rows in seq order and return each entry hash as 32 raw bytes: the Merkle
    leaf data of the tenant's tree, in leaf order."""
    sha256 = hashlib.sha256
    expected_prev = GENESIS_HASH
    expected_seq = 1
    leaves: list[bytes] = []
    for seq, row_tenant, kind, actor, recorded_at, payload_json, digest, prev, stored_hash in rows:
        if row_tenant != tenant:
            raise LedgerVerificationError(tenant, seq, f"row belongs to tenant {row_tenant!r}")
        if seq != expected_seq:
            raise LedgerVerificationError(
                tenant, expected_seq, f"sequence gap: expected seq {expected_seq}, found {seq}")
        # The store writes the canonical bytes it hashed, so hashing the stored text is enough;
        # only a mismatch pays for parsing and re-canonicalising.
        if sha256(payload_json.encode()).hexdigest() != digest:
            _check_payload_value(tenant, seq, payload_json, digest)
        if prev != expected_prev:
            raise LedgerVerificationError(tenant, seq, "prev_hash does not link to the entry before")
        header = entry_header_bytes(seq=seq, tenant=row_tenant, kind=kind, actor=actor,
                                    recorded_at=recorded_at, payload_digest=digest, prev_hash=prev)
        if sha256(header).hexdigest() != stored_hash:
            raise LedgerVerificationError(tenant, seq, "entry_hash does not match the entry")
        leaves.append(bytes.fromhex(stored_hash))
        expected_prev = stored_hash
        expected_seq += 1
    return leaves


def _check_payload_value(tenant: str, seq: int, payload_json: str, digest: str) -> None:
    try:
        payload = json.loads(payload_json)
    except ValueError as exc:
        raise LedgerVerificationError(tenant, seq, f"payload is not JSON ({exc})") from exc
    if payload_digest(payload) != digest:
        raise LedgerVerificationError(tenant, seq, "payload does not match its digest")


def verify_entry(row: StoredRow) -> None:
    """Check one entry on its own: its payload digest and entry hash (its link needs the one before)."""
    _check_payload_value(row.tenant, row.seq, row.payload_json, row.payload_digest)
    header = entry_header_bytes(seq=row.seq, tenant=row.tenant, kind=row.kind, actor=row.actor,
                                recorded_at=row.recorded_at, payload_digest=row.payload_digest,
                                prev_hash=row.prev_hash)
    if hashlib.sha256(header).hexdigest() != row.entry_hash:
        raise LedgerVerificationError(row.tenant, row.seq, "entry_hash does not match the entry")
