"""A proposal's trail in the hash-chained ledger: every entry whose payload names it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from ledger.entry import LedgerEntry

TRAIL_LIMIT = 200


class LedgerReader(Protocol):
    def entries(self, tenant: str, kind: str | None = None) -> list[LedgerEntry]: ...


@dataclass(frozen=True)
class TrailEntry:
    seq: int
    kind: str
    actor: str
    recorded_at: str
    entry_hash: str
    summary: str


def _summary(payload: dict[str, Any]) -> str:
    keys = ("proposal_version", "version", "verdict", "outcome", "status", "question", "rationale", "error")
    return ", ".join(f"{k} {payload[k]}" for k in keys if payload.get(k) not in (None, "", []))


def ledger_trail(ledger: LedgerReader, tenant: str, proposal_id: str) -> list[TrailEntry]:
    """Oldest first, at most TRAIL_LIMIT (the newest). Reads only ``tenant``'s chain."""
    found = [TrailEntry(e.seq, e.kind, e.actor, e.recorded_at, e.entry_hash, _summary(e.payload))
             for e in ledger.entries(tenant) if e.payload.get("proposal_id") == proposal_id]
    return found[-TRAIL_LIMIT:]
