"""Pinecone request limits: how upserts are split, what metadata is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from world_model.contracts import MemoryDocument
from world_model.memory import MemoryStoreError
from world_model.pinecone_memory import (
    MAX_UPSERT_BYTES,
    MAX_VECTORS_PER_UPSERT,
    STORED_TEXT_CHARS,
    _metadata,
    upsert_batches,
)


def vector(i: int, dimension: int) -> dict:
    return {"id": f"doc-{i}", "values": [0.123456789] * dimension, "metadata": {"tenant": "acme"}}


def test_small_vectors_are_sent_1000_per_request() -> None:
    batches = list(upsert_batches([vector(i, 8) for i in range(2500)]))

    assert [len(b) for b in batches] == [MAX_VECTORS_PER_UPSERT, MAX_VECTORS_PER_UPSERT, 500]


def test_wide_vectors_are_split_under_two_megabytes() -> None:
    vectors = [vector(i, 3072) for i in range(300)]

    batches = list(upsert_batches(vectors))

    assert len(batches) > 1 and sum(len(b) for b in batches) == 300
    sizes = [len(json.dumps({"vectors": b, "namespace": "acme"}).encode()) for b in batches]
    assert max(sizes) < MAX_UPSERT_BYTES
    assert [v["id"] for b in batches for v in b] == [v["id"] for v in vectors]  # order kept


def doc(text: str, metadata: dict) -> MemoryDocument:
    return MemoryDocument(doc_id="d1", tenant="acme", account_id=None, source="note", text=text,
                          created_at=datetime(2026, 1, 3, tzinfo=UTC), metadata=metadata)


def test_metadata_keeps_a_bounded_text_and_never_a_null() -> None:
    metadata = _metadata(doc("x" * 10_000, {"by": "test"}), "model==1", "digest")

    assert len(metadata["text"]) == STORED_TEXT_CHARS
    assert "account_id" not in metadata and None not in metadata.values()


def test_oversized_metadata_is_refused_with_what_to_do() -> None:
    with pytest.raises(MemoryStoreError, match="keep MemoryDocument.metadata small"):
        _metadata(doc("short", {"blob": "y" * 50_000}), "model==1", "digest")
