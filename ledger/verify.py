"""Chain verification: pure functions that return nothing or raise one typed error naming the first
bad entry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.entry import GENESIS_HASH, entry_hash, payload_digest


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


def verify_chain(tenant: str, rows: Iterable[StoredRow]) -> int:
    """Check one tenant's rows in seq order; returns how many were verified."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in rows:
        if row.tenant != tenant:
            raise LedgerVerificationError(tenant, row.seq, f"row belongs to tenant {row.tenant!r}")
        if row.seq != expected_seq:
            raise LedgerVerificationError(
                tenant, expected_seq, f"sequence gap: expected seq {expected_seq}, found {row.seq}")
        try:
            payload = json.loads(row.payload_json)
        except ValueError as exc:
            raise LedgerVerificationError(tenant, row.seq, f"payload is not JSON ({exc})") from exc
        if payload_digest(payload) != row.payload_digest:
            raise LedgerVerificationError(tenant, row.seq, "payload does not match its digest")
        if row.prev_hash != expected_prev:
            raise LedgerVerificationError(tenant, row.seq, "prev_hash does not link to the entry before")
        recomputed = entry_hash(seq=row.seq, tenant=row.tenant, kind=row.kind, actor=row.actor,
                                recorded_at=row.recorded_at, payload_digest=row.payload_digest,
                                prev_hash=row.prev_hash)
        if recomputed != row.entry_hash:
            raise LedgerVerificationError(tenant, row.seq, "entry_hash does not match the entry")
        expected_prev = row.entry_hash
        expected_seq += 1
        count += 1
    return count
