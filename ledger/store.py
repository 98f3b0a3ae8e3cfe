"""The append-only ledger store: one hash chain per tenant in the operational database.

Rows can only be inserted: triggers refuse UPDATE and DELETE on ledger_entries (ledger.append_only)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    text,
    update,
)

from ledger.append_only import enforce_append_only
from ledger.canonical import canonical_bytes_of
from ledger.chain import ChainBreak
from ledger.entry import GENESIS_HASH, LedgerEntry
from ledger.header import entry_header_bytes, plain_header_bytes, plain_text
from ledger.merkle import MerkleTree
from ledger.sql import READ_ONLY, make_engine
from ledger.verify import LedgerVerificationError, RowTuple, StoredRow, chain_leaves
from ledger.verify_ranges import PARALLEL_FROM, worker_count
from ledger.verify_ranges import verified_tree as ranges_tree

_MAX_SAFE_INTEGER = 2**53 - 1

metadata = MetaData()

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant", String(128), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("payload_digest", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    UniqueConstraint("tenant", "seq", name="uq_ledger_tenant_seq"),
)

# The head is a cache for appends (seq and hash of the last entry); verification never trusts it.
ledger_heads = Table(
    "ledger_heads", metadata,
    Column("tenant", String(128), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("entry_hash", String(64), nullable=False),
)

_COLUMNS = "seq, tenant, kind, actor, recorded_at, payload, payload_digest, prev_hash, entry_hash"
_ROWS = text(f"SELECT {_COLUMNS} FROM ledger_entries WHERE tenant = :t ORDER BY seq, id")
# The chain check hashes the payload's bytes as stored: read them as a BLOB, without a decode.
_CHAIN_ROWS = text("SELECT seq, tenant, kind, actor, recorded_at, CAST(payload AS BLOB), payload_digest, "
                   "prev_hash, entry_hash FROM ledger_entries WHERE tenant = :t ORDER BY seq, id")
_ROWS_AFTER = text(f"SELECT {_COLUMNS} FROM ledger_entries WHERE tenant = :t AND seq > :s ORDER BY seq, id")
_ROW = text(f"SELECT {_COLUMNS} FROM ledger_entries WHERE tenant = :t AND seq = :s ORDER BY id LIMIT 1")


def _seal_all(items: Sequence[NewEntry], heads: dict[str, tuple[int, str]],
              now: str) -> tuple[list[LedgerEntry], list[tuple[Any, ...]]]:
    """Chain ``items`` onto ``heads`` (updated in place): the entries to return and the rows to insert."""
    sealed: list[LedgerEntry] = []
    rows: list[tuple[Any, ...]] = []
    sha256 = hashlib.sha256
    validate = LedgerEntry.model_validate
    # Digests are hex by construction; the rest decides once per batch whether the template holds.
    template_ok = {tenant: plain_text(tenant + now + prev) and seq + len(items) <= _MAX_SAFE_INTEGER
                   for tenant, (seq, prev) in heads.items()}
    plain_names: dict[tuple[str, str], bool] = {}
    for item in items:
        tenant, kind, actor = item.tenant, item.kind, item.actor
        # Canonicalise once: the stored text is exactly the bytes the digest covers. The returned
        # payload is what a reader parses back: the value itself when it is plain JSON already.
        payload_bytes, plain = canonical_bytes_of(item.payload)
        payload_text = payload_bytes.decode()
        digest = sha256(payload_bytes).hexdigest()
        seq, prev = heads[tenant]
        seq += 1
        names = (kind, actor)
        if names not in plain_names:
            plain_names[names] = plain_text(kind + actor)
        if template_ok[tenant] and plain_names[names]:
            header = plain_header_bytes(seq, tenant, kind, actor, now, digest, prev)
        else:
            header = entry_header_bytes(seq=seq, tenant=tenant, kind=kind, actor=actor, recorded_at=now,
                                        payload_digest=digest, prev_hash=prev)
        entry_hash = sha256(header).hexdigest()
        heads[tenant] = (seq, entry_hash)
        sealed.append(validate({
            "seq": seq, "tenant": tenant, "kind": kind, "actor": actor, "recorded_at": now,
            "payload": item.payload if plain else json.loads(payload_text), "payload_digest": digest,
            "prev_hash": prev, "entry_hash": entry_hash}))
        rows.append((tenant, seq, kind, actor, now, payload_text, digest, prev, entry_hash))
    return sealed, rows


@dataclass(frozen=True)
class NewEntry:
    tenant: str
    kind: str
    actor: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class VerifyReport:
    entries_by_tenant: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.entries_by_tenant.values())


class Ledger:
    """Append entries, read them back, verify every tenant's chain."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)
        enforce_append_only(self.engine)

    def append(self, tenant: str, kind: str, actor: str, payload: dict[str, Any]) -> LedgerEntry:
        return self.append_many([NewEntry(tenant, kind, actor, payload)])[0]

    def append_many(self, items: Sequence[NewEntry]) -> list[LedgerEntry]:
        """Append in one transaction; entries of a tenant chain in the order given."""
        if not items:
            return []
        now = datetime.now(UTC).isoformat()
        with self.engine.begin() as conn:
            heads = self._read_heads(conn, {item.tenant for item in items})
            sealed, rows = _seal_all(items, heads, now)
            marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
            conn.exec_driver_sql(
                "INSERT INTO ledger_entries (tenant, seq, kind, actor, recorded_at, payload, "
                f"payload_digest, prev_hash, entry_hash) VALUES ({', '.join([marker] * 9)})", rows)
            for tenant, (seq, entry_hash) in heads.items():
                done = conn.execute(update(ledger_heads).where(ledger_heads.c.tenant == tenant)
                                    .values(seq=seq, entry_hash=entry_hash))
                if done.rowcount == 0:
                    conn.execute(insert(ledger_heads).values(tenant=tenant, seq=seq,
                                                             entry_hash=entry_hash))
        return sealed

    @staticmethod
    def _read_heads(conn: Connection, tenants: set[str]) -> dict[str, tuple[int, str]]:
        query = select(ledger_heads.c.tenant, ledger_heads.c.seq, ledger_heads.c.entry_hash).where(
            ledger_heads.c.tenant.in_(sorted(tenants)))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        heads = {tenant: (0, GENESIS_HASH) for tenant in tenants}
        heads.update({row.tenant: (row.seq, row.entry_hash) for row in conn.execute(query)})
        return heads

    def tenants(self) -> list[str]:
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            return list(conn.execute(select(ledger_entries.c.tenant).distinct()
                                     .order_by(ledger_entries.c.tenant)).scalars())

    def heads(self) -> dict[str, tuple[int, str]]:
        """(seq, entry_hash) of each tenant's newest entry, from the append cache (not verified)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            rows = conn.execute(select(ledger_heads.c.tenant, ledger_heads.c.seq,
                                       ledger_heads.c.entry_hash).order_by(ledger_heads.c.tenant))
            return {r.tenant: (r.seq, r.entry_hash) for r in rows}

    def rows(self, tenant: str, after_seq: int = 0) -> list[StoredRow]:
        """A tenant's rows exactly as stored (those after ``after_seq``), in one read-only transaction."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            if after_seq:
                return [StoredRow(*r) for r in conn.execute(_ROWS_AFTER, {"t": tenant, "s": after_seq})]
            return [StoredRow(*r) for r in conn.execute(_ROWS, {"t": tenant})]

    def row(self, tenant: str, seq: int) -> StoredRow | None:
        """One stored row by position (the first if tampering left several with this seq)."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            found = conn.execute(_ROW, {"t": tenant, "s": seq}).first()
        return StoredRow(*found) if found else None

    def locate(self, entry_hash: str) -> tuple[str, int] | None:
        """(tenant, seq) of the entry with this hash, if the ledger holds it."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            found = conn.execute(text("SELECT tenant, seq FROM ledger_entries WHERE entry_hash = :h "
                                      "ORDER BY id LIMIT 1"), {"h": entry_hash.lower()}).first()
        return (found.tenant, found.seq) if found else None

    def entries(self, tenant: str, kind: str | None = None) -> list[LedgerEntry]:
        out = []
        for row in self.rows(tenant):
            if kind is None or row.kind == kind:
                out.append(LedgerEntry(seq=row.seq, tenant=row.tenant, kind=row.kind,
                                       actor=row.actor, recorded_at=row.recorded_at,
                                       payload=json.loads(row.payload_json),
                                       payload_digest=row.payload_digest, prev_hash=row.prev_hash,
                                       entry_hash=row.entry_hash))
        return out

    def verify(self, tenant: str | None = None, workers: int | None = None) -> VerifyReport:
        """Verify one tenant's chain or all; raises LedgerVerificationError at the first bad entry.
        Large tenants of a SQLite file are checked by ``workers`` processes (default: one per core)."""
        tenants = [tenant] if tenant else self.tenants()
        return VerifyReport({t: self.verified_tree(t, workers).size for t in tenants})

    def verified_tree(self, tenant: str, workers: int | None = None) -> MerkleTree:
        """Verify a tenant's chain and build its Merkle tree (leaf data: each entry hash's 32 bytes).
        Raises LedgerVerificationError at the first bad entry."""
        path = self.engine.url.database if self.engine.dialect.name == "sqlite" else None
        workers = worker_count() if workers is None else workers
        if path and path != ":memory:" and workers > 1:
            with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
                max_seq, count = conn.execute(text(
                    "SELECT coalesce(max(seq), 0), count(*) FROM ledger_entries WHERE tenant = :t"),
                    {"t": tenant}).one()
            if count >= PARALLEL_FROM:
                try:
                    return ranges_tree(path, tenant, max_seq, GENESIS_HASH, workers)
                except ChainBreak as exc:
                    raise LedgerVerificationError(tenant, exc.seq, exc.reason) from None
        return MerkleTree.from_data(self.leaf_data(tenant))

    def leaf_data(self, tenant: str) -> list[bytes]:
        """Verify a tenant's chain in this process and return its Merkle leaf data: each entry hash as
        32 raw bytes, in seq order. Raises LedgerVerificationError at the first bad entry."""
        with self.engine.connect().execution_options(**{READ_ONLY: True}) as conn:
            if conn.dialect.name == "sqlite":
                # Straight from the driver's cursor: a million rows without a Row object each. One
                # SELECT reads one consistent WAL snapshot.
                cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(str(_CHAIN_ROWS), {"t": tenant})
                rows: Iterable[RowTuple] = cursor
            else:
                rows = ((r[0], r[1], r[2], r[3], r[4], r[5].encode(), r[6], r[7], r[8])
                        for r in conn.execute(_ROWS, {"t": tenant}))
            return chain_leaves(tenant, rows)
