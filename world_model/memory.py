"""Semantic memory: tenant-namespaced documents recalled by meaning, each hit with its citation."""

from __future__ import annotations

import hashlib
import json
import math
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import lancedb
import pyarrow as pa
from lancedb.expr import col, lit
from lancedb.index import HnswSq

from world_model.contracts import MemoryDocument, MemoryHit
from world_model.embedder import Embedder
from world_model.tenancy import validate_tenant

SNIPPET_CHARS = 280
MAX_K = 100
_MODEL_KEY = b"embedding_model"
_LOOKUP_CHUNK = 1000


class SemanticMemory(Protocol):
    def upsert(self, docs: list[MemoryDocument]) -> int: ...

    def search(
        self, tenant: str, query: str, k: int = 5, account_id: str | None = None
    ) -> list[MemoryHit]: ...

    def count(self, tenant: str) -> int: ...


class MemoryStoreError(RuntimeError):
    """A tenant's memory table cannot be used with the configured embedder."""


def table_name(tenant: str) -> str:
    """One table per tenant (the namespace); the validated id cannot name another tenant's table."""
    return f"memory_{validate_tenant(tenant)}"


def digest(doc: MemoryDocument, model_id: str) -> str:
    """Changes when anything stored about the document, or the model embedding it, changes."""
    canonical = json.dumps(
        [doc.account_id, doc.source, doc.text, utc(doc.created_at).isoformat(), doc.metadata, model_id],
        sort_keys=True, default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def by_tenant(docs: list[MemoryDocument]) -> dict[str, list[MemoryDocument]]:
    """Documents grouped by (validated) tenant; the last of a repeated doc_id wins."""
    grouped: dict[str, dict[str, MemoryDocument]] = {}
    for doc in docs:
        grouped.setdefault(validate_tenant(doc.tenant), {})[doc.doc_id] = doc
    return {tenant: list(batch.values()) for tenant, batch in grouped.items()}


def check_k(k: int) -> None:
    if not 1 <= k <= MAX_K:
        raise ValueError(f"k must be between 1 and {MAX_K}, got {k}")


def model_mismatch(tenant: str, stored: str, wanted: str) -> MemoryStoreError:
    return MemoryStoreError(
        f"memory of tenant {tenant!r} was embedded with {stored or 'an unknown model'!r}, not {wanted!r}: "
        "vectors of different models do not compare. Use that model, or re-index the tenant's documents "
        "into a fresh store (LanceDB directory, Pinecone index)"
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class LanceDbMemory:
    """Semantic memory in an embedded LanceDB directory: one table per tenant, cosine similarity."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self._db = lancedb.connect(str(path))
        self._embedder = embedder
        self._tables: dict[str, Any] = {}
        self._lock = threading.Lock()

    def upsert(self, docs: list[MemoryDocument]) -> int:
        """Insert or update documents by doc_id; returns how many were new or changed.

        Unchanged documents (same text, fields and model) are skipped without re-embedding, so
        re-upserting a batch is cheap and writes nothing."""
        return sum(self._upsert_tenant(tenant, batch) for tenant, batch in by_tenant(docs).items())

    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None) -> list[MemoryHit]:
        """The ``k`` documents of the tenant nearest in meaning to ``query``, best first."""
        check_k(k)
        table = self._table(tenant, create=False)
        if table is None:
            return []
        vector = self._embedder.embed([query])[0]
        search = table.search(vector, vector_column_name="vector").distance_type("cosine")
        if account_id is not None:
            search = search.where(col("account_id") == lit(account_id), prefilter=True)
        columns = ["doc_id", "tenant", "source", "account_id", "text", "_distance"]
        rows = search.select(columns).limit(k).to_list()
        return [
            MemoryHit(doc_id=row["doc_id"], source=row["source"], account_id=row["account_id"],
                      snippet=row["text"][:SNIPPET_CHARS], score=1.0 - float(row["_distance"]))
            for row in rows
            if row["tenant"] == tenant
        ]

    def count(self, tenant: str) -> int:
        table = self._table(tenant, create=False)
        return 0 if table is None else table.count_rows()

    def build_index(self, tenant: str, min_rows: int = 10_000) -> bool:
        """Build an approximate cosine index (IVF partitions of HNSW graphs, scalar-quantized) over the
        tenant's vectors once it holds ``min_rows``; below that exact search is fast enough. Rows added
        later are still found (LanceDB searches them exactly); rebuild after large imports. Returns
        whether an index was built."""
        table = self._table(tenant, create=False)
        rows = 0 if table is None else table.count_rows()
        if rows < max(min_rows, 1):
            return False
        partitions = max(1, round(math.sqrt(rows) / 16))
        table.create_index("vector", config=HnswSq(distance_type="cosine", num_partitions=partitions),
                           replace=True)
        return True

    def _upsert_tenant(self, tenant: str, docs: list[MemoryDocument]) -> int:
        table = self._table(tenant, create=True)
        model_id = self._embedder.model_id
        digests = {doc.doc_id: digest(doc, model_id) for doc in docs}
        stored = self._stored_digests(table, list(digests))
        changed = [doc for doc in docs if stored.get(doc.doc_id) != digests[doc.doc_id]]
        if not changed:
            return 0
        vectors = self._embedder.embed([doc.text for doc in changed])
        rows = pa.Table.from_pylist(
            [
                {"doc_id": doc.doc_id, "tenant": tenant, "account_id": doc.account_id, "source": doc.source,
                 "text": doc.text, "created_at": utc(doc.created_at),
                 "metadata_json": json.dumps(doc.metadata, sort_keys=True, default=str),
                 "digest": digests[doc.doc_id], "vector": vector}
                for doc, vector in zip(changed, vectors, strict=True)
            ],
            schema=table.schema,
        )
        table.merge_insert("doc_id").when_matched_update_all().when_not_matched_insert_all().execute(rows)
        return len(changed)

    @staticmethod
    def _stored_digests(table: Any, doc_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(doc_ids), _LOOKUP_CHUNK):
            chunk = doc_ids[start:start + _LOOKUP_CHUNK]
            rows = table.search().where(col("doc_id").isin(chunk)).select(["doc_id", "digest"]) \
                .limit(len(chunk)).to_list()
            out.update({row["doc_id"]: row["digest"] for row in rows})
        return out

    def _schema(self) -> pa.Schema:
        return pa.schema(
            [
                pa.field("doc_id", pa.string(), nullable=False),
                pa.field("tenant", pa.string(), nullable=False),
                pa.field("account_id", pa.string()),
                pa.field("source", pa.string(), nullable=False),
                pa.field("text", pa.string(), nullable=False),
                pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
                pa.field("metadata_json", pa.string(), nullable=False),
                pa.field("digest", pa.string(), nullable=False),
                pa.field("vector", pa.list_(pa.float32(), self._embedder.dimension)),
            ],
            metadata={_MODEL_KEY: self._embedder.model_id.encode()},
        )

    def _table(self, tenant: str, create: bool) -> Any:
        name = table_name(tenant)
        with self._lock:
            table = self._tables.get(name)
            if table is None:
                try:
                    table = self._db.open_table(name)
                except ValueError:
                    if not create:
                        return None
                    table = self._db.create_table(name, schema=self._schema(), exist_ok=True)
                self._check_model(tenant, table)
                self._tables[name] = table
            return table

    def _check_model(self, tenant: str, table: Any) -> None:
        stored = (table.schema.metadata or {}).get(_MODEL_KEY, b"").decode()
        if stored != self._embedder.model_id:
            raise model_mismatch(tenant, stored, self._embedder.model_id)
