"""Semantic memory on Pinecone: one namespace per tenant, the REST data plane of the ``pinecone`` SDK.

Requests stay within Pinecone's limits (at most 1,000 vectors and 2 MB per upsert, 40 KB of metadata per
vector); 408/429/5xx answers are retried by the SDK (3 retries, jittered backoff, ``Retry-After``
honoured). Vectors carry the embedding model's id, and queries filter on it, so vectors of different
models never compare."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from world_model.contracts import MemoryDocument, MemoryHit
from world_model.embedder import Embedder
from world_model.memory import (
    SNIPPET_CHARS,
    MemoryStoreError,
    by_tenant,
    check_k,
    digest,
    model_mismatch,
    utc,
)
from world_model.tenancy import validate_tenant

MAX_VECTORS_PER_UPSERT = 1000
MAX_UPSERT_BYTES = 2 * 1024 * 1024
MAX_METADATA_BYTES = 40 * 1024
FETCH_IDS_PER_REQUEST = 100  # ids travel in the query string; keep URLs short
STORED_TEXT_CHARS = 4000  # the text kept in metadata for snippets; the full text stays in its source
# One vector per namespace records which model embedded it (LanceDB keeps this in the table schema).
MODEL_MARKER_ID = "__revloop_embedding_model__"


class PineconeIndexLike(Protocol):
    """The part of ``pinecone.Index`` this adapter uses."""

    def upsert(self, *, vectors: Sequence[Mapping[str, Any]], namespace: str = "") -> Any: ...

    def query(self, *, top_k: int, vector: Sequence[float] | None = None, namespace: str = "",
              filter: Mapping[str, Any] | None = None, include_metadata: bool = False) -> Any: ...

    def fetch(self, *, ids: Sequence[str], namespace: str = "") -> Any: ...

    def describe_index_stats(self) -> Any: ...


def _metadata(doc: MemoryDocument, model_id: str, doc_digest: str) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "tenant": doc.tenant, "source": doc.source, "text": doc.text[:STORED_TEXT_CHARS],
        "created_at": utc(doc.created_at).isoformat(), "model_id": model_id, "digest": doc_digest,
        "metadata_json": json.dumps(doc.metadata, sort_keys=True, default=str),
    }
    if doc.account_id is not None:  # Pinecone metadata has no null
        metadata["account_id"] = doc.account_id
    size = len(json.dumps(metadata).encode())
    if size > MAX_METADATA_BYTES:
        raise MemoryStoreError(
            f"document {doc.doc_id!r} carries {size} bytes of metadata, over Pinecone's "
            f"{MAX_METADATA_BYTES}; keep MemoryDocument.metadata small (ids and labels, not documents)"
        )
    return metadata


def upsert_batches(vectors: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Split vectors into requests of at most 1,000 vectors and (with JSON overhead) under 2 MB."""
    batch: list[dict[str, Any]] = []
    size = 0
    for vector in vectors:
        vector_size = len(json.dumps(vector).encode()) + 1
        if batch and (len(batch) >= MAX_VECTORS_PER_UPSERT or size + vector_size > MAX_UPSERT_BYTES - 1024):
            yield batch
            batch, size = [], 0
        batch.append(vector)
        size += vector_size
    if batch:
        yield batch


class PineconeMemory:
    """Semantic memory in a Pinecone index (dense, cosine metric); namespace = tenant id."""

    def __init__(self, index: PineconeIndexLike, embedder: Embedder) -> None:
        self._index = index
        self._embedder = embedder
        self._checked = False
        self._marked: set[str] = set()

    def upsert(self, docs: list[MemoryDocument]) -> int:
        """Insert or update documents by doc_id; returns how many were new or changed (others are not
        re-embedded)."""
        return sum(self._upsert_tenant(tenant, batch) for tenant, batch in by_tenant(docs).items())

    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None) -> list[MemoryHit]:
        check_k(k)
        validate_tenant(tenant)
        self._check_model(tenant, create=False)
        flt: dict[str, Any] = {"tenant": {"$eq": tenant}, "model_id": {"$eq": self._embedder.model_id}}
        if account_id is not None:
            flt["account_id"] = {"$eq": account_id}
        vector = self._embedder.embed([query])[0]
        response = self._index.query(top_k=k, vector=vector, namespace=tenant, filter=flt,
                                     include_metadata=True)
        hits = []
        for match in response.matches:
            metadata = dict(match.metadata or {})
            if metadata.get("tenant") != tenant:
                continue
            hits.append(MemoryHit(doc_id=match.id, source=str(metadata.get("source", "")),
                                  account_id=metadata.get("account_id"),
                                  snippet=str(metadata.get("text", ""))[:SNIPPET_CHARS],
                                  score=float(match.score)))
        return hits

    def count(self, tenant: str) -> int:
        """Vectors in the tenant's namespace (Pinecone's counts lag writes by a moment)."""
        namespace = validate_tenant(tenant)
        summary = self._index.describe_index_stats().namespaces.get(namespace)
        count = 0 if summary is None else int(summary.vector_count)
        return max(0, count - 1)  # the model marker is no document

    def _upsert_tenant(self, tenant: str, docs: list[MemoryDocument]) -> int:
        self._check_model(tenant, create=True)
        model_id = self._embedder.model_id
        digests = {doc.doc_id: digest(doc, model_id) for doc in docs}
        stored = self._stored_digests(tenant, list(digests))
        changed = [doc for doc in docs if stored.get(doc.doc_id) != digests[doc.doc_id]]
        if not changed:
            return 0
        vectors = [
            {"id": doc.doc_id, "values": vector, "metadata": _metadata(doc, model_id, digests[doc.doc_id])}
            for doc, vector in zip(changed, self._embedder.embed([d.text for d in changed]), strict=True)
        ]
        for batch in upsert_batches(vectors):
            self._index.upsert(vectors=batch, namespace=tenant)
        return len(changed)

    def _stored_digests(self, tenant: str, doc_ids: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for start in range(0, len(doc_ids), FETCH_IDS_PER_REQUEST):
            response = self._index.fetch(ids=doc_ids[start:start + FETCH_IDS_PER_REQUEST], namespace=tenant)
            for doc_id, vector in response.vectors.items():
                metadata = dict(vector.metadata or {})
                if metadata.get("tenant") == tenant:
                    out[doc_id] = str(metadata.get("digest", ""))
        return out

    def _check_model(self, tenant: str, create: bool) -> None:
        if tenant in self._marked:
            return
        self._check_dimension()
        model_id = self._embedder.model_id
        marker = self._index.fetch(ids=[MODEL_MARKER_ID], namespace=tenant).vectors.get(MODEL_MARKER_ID)
        if marker is not None:
            stored = str(dict(marker.metadata or {}).get("model_id", ""))
            if stored != model_id:
                raise model_mismatch(tenant, stored, model_id)
        elif not create:
            return
        else:
            self._index.upsert(vectors=[{"id": MODEL_MARKER_ID, "values": self._embedder.embed([model_id])[0],
                                         "metadata": {"model_id": model_id, "kind": "model_marker"}}],
                               namespace=tenant)
        self._marked.add(tenant)

    def _check_dimension(self) -> None:
        if self._checked:
            return
        dimension = self._index.describe_index_stats().dimension
        if dimension is not None and dimension != self._embedder.dimension:
            raise MemoryStoreError(
                f"the Pinecone index holds {dimension}-dimensional vectors but {self._embedder.model_id!r} "
                f"makes {self._embedder.dimension}: create the index with dimension "
                f"{self._embedder.dimension} and metric 'cosine', or configure the matching model"
            )
        self._checked = True


def open_pinecone_memory(host: str, api_key: str, embedder: Embedder,
                         timeout_s: float = 30.0) -> PineconeMemory:
    """``host``: the index's data-plane host from the Pinecone console (``https://<index>-<project>.svc...``)."""
    from pinecone import Index

    if not api_key:
        raise MemoryStoreError("no Pinecone API key given: pass the key of the project that holds the index")
    return PineconeMemory(Index(host=host, api_key=api_key, timeout=timeout_s), embedder)
