"""Chain verification: pure functions that return nothing or raise one typed error naming the first
bad entry."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.chain import ChainBreak, RowTuple, check_payload_value, check_run
from ledger.entry import GENESIS_HASH
from ledger.header import entry_header_bytes

__all__ = ["LedgerVerificationError", "RowTuple", "StoredRow", "chain_leaves", "verify_chain",
           "verify_entry"]


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
    return len(chain_leaves(tenant, ((r.seq, r.tenant, r.kind, r.actor, r.recorded_at,
                                      r.payload_json.encode(), r.payload_digest, r.prev_hash, r.entry_hash)
                                     for r in rows)))


def chain_leaves(tenant: str, rows: Iterable[RowTuple]) -> list[bytes]:
    """Check one tenant's rows in seq order and return each entry hash as 32 raw bytes: the Merkle
    leaf data of the tenant's tree, in leaf order."""
    try:
        return check_run(tenant, rows, 1, GENESIS_HASH)
    except ChainBreak as exc:
        raise LedgerVerificationError(tenant, exc.seq, exc.reason) from None


def _check_payload_value(tenant: str, seq: int, payload_json: str, digest: str) -> None:
    try:
        check_payload_value(seq, payload_json, digest)
    except ChainBreak as exc:
        raise LedgerVerificationError(tenant, exc.seq, exc.reason) from None


def verify_entry(row: StoredRow) -> None:
    """Check one entry on its own: its payload digest and entry hash (its link needs the one before)."""
    _check_payload_value(row.tenant, row.seq, row.payload_json, row.payload_digest)
    header = entry_header_bytes(seq=row.seq, tenant=row.tenant, kind=row.kind, actor=row.actor,
                                recorded_at=row.recorded_at, payload_digest=row.payload_digest,
                                prev_hash=row.prev_hash)
    if hashlib.sha256(header).hexdigest() != row.entry_hash:
        raise LedgerVerificationError(row.tenant, row.seq, "entry_hash does not match the entry")
