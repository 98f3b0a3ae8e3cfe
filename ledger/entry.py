"""Ledger entries: canonical JSON (RFC 8785, JCS) and the per-tenant SHA-256 hash chain.

Anyone can recompute an entry's hash from its row: no project code is needed beyond JCS and SHA-256.

    payload_digest = sha256(JCS(payload))
    entry_hash     = sha256(JCS({seq, tenant, kind, actor, recorded_at, payload_digest, prev_hash}))

The first entry of a tenant links to ``GENESIS_HASH`` (64 zeros)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import rfc8785
from pydantic import BaseModel, ConfigDict

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical bytes. Datetimes must already be ISO strings: the ledger stores text."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class LedgerEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    seq: int  # 1-based, per tenant
    tenant: str
    kind: str  # e.g. signal.raised, proposal.created, policy.decided, review.decided, action.completed
    actor: str  # who or what appended it: a stage, an agent, a reviewer
    recorded_at: str  # ISO-8601 UTC
    payload: dict[str, Any]
    payload_digest: str
    prev_hash: str
    entry_hash: str


def payload_digest(payload: dict[str, Any]) -> str:
    return sha256_hex(canonical_json(payload))


def entry_hash(*, seq: int, tenant: str, kind: str, actor: str, recorded_at: str,
               payload_digest: str, prev_hash: str) -> str:
    header = {"seq": seq, "tenant": tenant, "kind": kind, "actor": actor,
              "recorded_at": recorded_at, "payload_digest": payload_digest, "prev_hash": prev_hash}
    return sha256_hex(canonical_json(header))


def seal(*, seq: int, tenant: str, kind: str, actor: str, recorded_at: datetime,
         payload: dict[str, Any], prev_hash: str) -> LedgerEntry:
    """Build the next entry of a tenant's chain."""
    at = recorded_at.isoformat()
    digest = payload_digest(payload)
    return LedgerEntry(
        seq=seq, tenant=tenant, kind=kind, actor=actor, recorded_at=at, payload=payload,
        payload_digest=digest, prev_hash=prev_hash,
        entry_hash=entry_hash(seq=seq, tenant=tenant, kind=kind, actor=actor, recorded_at=at,
                              payload_digest=digest, prev_hash=prev_hash),
    )
