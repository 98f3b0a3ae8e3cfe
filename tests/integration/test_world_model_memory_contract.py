"""Contract suite of semantic memory, run against every adapter with a fake embedder, plus one slow test
with the real offline sentence-embedding model.

Adapters: LanceDB (embedded, real), and Pinecone over ``InMemoryPineconeIndex`` — a stateful fake of the
SDK's ``Index`` returning the SDK's own response models. Prism (tests/integration/
test_world_model_pinecone_contract.py) checks the requests against Pinecone's published spec but is
stateless, so recall, dedupe and tenancy behaviour are checked here against the fake."""

from __future__ import annotations

import hashlib
import math
import re
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pinecone.models.vectors.responses import (
    DescribeIndexStatsResponse,
    FetchResponse,
    NamespaceSummary,
    QueryResponse,
    UpsertResponse,
)
from pinecone.models.vectors.vector import ScoredVector, Vector

from perception.contracts import Evidence, Severity, Signal, SignalKind
from world_model.contracts import MemoryDocument
from world_model.documents import signal_document
from world_model.embedder import Embedder
from world_model.memory import LanceDbMemory, MemoryStoreError, SemanticMemory
from world_model.pinecone_memory import PineconeMemory
from world_model.tenancy import InvalidTenantError


class FakeEmbedder:
    """Hashed bag of words: texts sharing words are near each other. Counts the texts it embeds."""

    def __init__(self, dimension: int = 64, model_id: str = "fake-bow-64") -> None:
        self._dimension = dimension
        self._model_id = model_id
        self.embedded = 0

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def model_id(self) -> str:
        return self._model_id

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.embedded += len(texts)
        out = []
        for text in texts:
            vector = [0.0] * self._dimension
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                vector[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self._dimension] += 1.0
            norm = math.sqrt(sum(v * v for v in vector)) or 1.0
            out.append([v / norm for v in vector])
        return out


class InMemoryPineconeIndex:
    """A stateful stand-in for ``pinecone.Index`` (cosine metric): namespaces, $eq metadata filters."""

    def __init__(self, dimension: int = 64) -> None:
        self.dimension = dimension
        self.namespaces: dict[str, dict[str, Vector]] = {}
        self.requests: list[str] = []

    def upsert(self, *, vectors: list[dict], namespace: str = "") -> UpsertResponse:
        assert len(vectors) <= 1000
        self.requests.append("upsert")
        for v in vectors:
            assert len(v["values"]) == self.dimension and None not in v["metadata"].values()
            self.namespaces.setdefault(namespace, {})[v["id"]] = Vector(id=v["id"], values=list(v["values"]),
                                                                        metadata=dict(v["metadata"]))
        return UpsertResponse(upserted_count=len(vectors))

    def query(self, *, top_k: int, vector: list[float], namespace: str = "", filter: dict | None = None,
              include_metadata: bool = False) -> QueryResponse:
        self.requests.append("query")

        def matches(metadata: dict) -> bool:
            return all(metadata.get(name) == condition["$eq"] for name, condition in (filter or {}).items())

        def cosine(values: list[float]) -> float:
            norm = math.sqrt(sum(a * a for a in values)) * math.sqrt(sum(b * b for b in vector)) or 1.0
            return sum(a * b for a, b in zip(values, vector, strict=True)) / norm

        scored = sorted(((cosine(v.values), v) for v in self.namespaces.get(namespace, {}).values()
                         if matches(v.metadata or {})), key=lambda s: -s[0])[:top_k]
        return QueryResponse(namespace=namespace, matches=[
            ScoredVector(id=v.id, score=score, metadata=v.metadata if include_metadata else None)
            for score, v in scored])

    def fetch(self, *, ids: list[str], namespace: str = "") -> FetchResponse:
        self.requests.append("fetch")
        stored = self.namespaces.get(namespace, {})
        return FetchResponse(vectors={i: stored[i] for i in ids if i in stored}, namespace=namespace)

    def describe_index_stats(self) -> DescribeIndexStatsResponse:
        return DescribeIndexStatsResponse(
            namespaces={n: NamespaceSummary(vector_count=len(v)) for n, v in self.namespaces.items()},
            dimension=self.dimension, index_fullness=0.0,
            total_vector_count=sum(len(v) for v in self.namespaces.values()))


def _pinecone(root: Path) -> MemoryFactory:
    index = InMemoryPineconeIndex()  # shared by every memory the test opens: the "remote" index
    return lambda embedder: PineconeMemory(index, embedder)


MemoryFactory = Callable[[Embedder], SemanticMemory]
ADAPTERS: dict[str, Callable[[Path], MemoryFactory]] = {
    "lancedb": lambda root: lambda embedder: LanceDbMemory(root / "vectors", embedder),
    "pinecone": _pinecone,
}


@pytest.fixture(params=sorted(ADAPTERS))
def open_memory(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryFactory:
    return ADAPTERS[request.param](tmp_path)


@pytest.fixture
def embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def memory(open_memory: MemoryFactory, embedder: FakeEmbedder) -> SemanticMemory:
    return open_memory(embedder)


def doc(doc_id: str, text: str, tenant: str = "acme", account_id: str | None = "a1",
        source: str = "note") -> MemoryDocument:
    return MemoryDocument(doc_id=doc_id, tenant=tenant, account_id=account_id, source=source, text=text,
                          created_at=datetime(2026, 1, 3, 9, tzinfo=UTC), metadata={"by": "test"})


CORPUS = [
    doc("d1", "champion resigned and left the company"),
    doc("d2", "weekly active users dropped sharply in analytics"),
    doc("d3", "renewal deal slipped to next quarter", account_id="a2"),
    doc("d4", "tenant wide note about pricing", account_id=None),
]


def test_search_ranks_the_related_document_first_with_its_citation(memory: SemanticMemory) -> None:
    assert memory.upsert(CORPUS) == 4

    hits = memory.search("acme", "active users dropped", k=3)

    assert [h.doc_id for h in hits][0] == "d2"
    best = hits[0]
    assert (best.source, best.account_id) == ("note", "a1")
    assert best.snippet == "weekly active users dropped sharply in analytics"
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert 0.0 < best.score <= 1.0 + 1e-6
    assert len(hits) == 3


def test_upsert_is_idempotent_on_doc_id(memory: SemanticMemory, embedder: FakeEmbedder) -> None:
    memory.upsert(CORPUS)
    embedded = embedder.embedded

    assert memory.upsert(CORPUS + CORPUS) == 0
    assert memory.count("acme") == 4
    assert embedder.embedded == embedded  # unchanged documents are not re-embedded

    assert memory.upsert([doc("d1", "champion was promoted to chief operating officer")]) == 1
    assert memory.count("acme") == 4
    top = memory.search("acme", "promoted chief operating officer", k=1)[0]
    assert (top.doc_id, top.snippet) == ("d1", "champion was promoted to chief operating officer")


def test_account_filter_only_returns_that_accounts_documents(memory: SemanticMemory) -> None:
    memory.upsert(CORPUS)

    hits = memory.search("acme", "renewal deal slipped", k=5, account_id="a1")

    assert {h.doc_id for h in hits} == {"d1", "d2"}
    assert [h.doc_id for h in memory.search("acme", "renewal", k=5, account_id="a2")] == ["d3"]


def test_tenants_never_see_each_others_memory(memory: SemanticMemory) -> None:
    canary = "canary globex 7f3a secret expansion plan"
    memory.upsert(CORPUS)
    memory.upsert([doc("g1", canary, tenant="globex"), doc("d1", canary, tenant="globex")])

    hits = memory.search("acme", canary, k=10)

    assert memory.count("acme") == 4 and memory.count("globex") == 2
    assert all("canary" not in h.snippet for h in hits)
    assert "g1" not in {h.doc_id for h in hits}
    assert next(h for h in hits if h.doc_id == "d1").snippet == CORPUS[0].text  # same id, other tenant
    assert memory.search("globex", canary, k=1)[0].snippet == canary


def test_unknown_tenant_has_empty_memory(memory: SemanticMemory) -> None:
    assert memory.count("initech") == 0
    assert memory.search("initech", "anything") == []


@pytest.mark.parametrize("tenant", ["ACME", "acme/../globex", "globex.memory", "", "a b"])
def test_tenant_ids_that_could_address_another_table_are_refused(memory: SemanticMemory, tenant: str) -> None:
    with pytest.raises(InvalidTenantError):
        memory.search(tenant, "x")
    with pytest.raises(InvalidTenantError):
        memory.count(tenant)
    with pytest.raises(InvalidTenantError):
        memory.upsert([doc("x", "x", tenant=tenant)])


def test_k_out_of_range_is_refused(memory: SemanticMemory) -> None:
    with pytest.raises(ValueError, match="k must be"):
        memory.search("acme", "x", k=0)


def test_memory_persists_and_refuses_a_different_model(open_memory: MemoryFactory) -> None:
    open_memory(FakeEmbedder()).upsert(CORPUS)

    assert open_memory(FakeEmbedder()).count("acme") == 4
    with pytest.raises(MemoryStoreError, match="fake-bow-64"):
        open_memory(FakeEmbedder(model_id="other-model")).search("acme", "x")


def make_signal(entity_id: str, kind: SignalKind, narrative: str) -> Signal:
    return Signal(
        tenant="acme", account_id="a1", entity_type="contact", entity_id=entity_id, kind=kind,
        severity=Severity.high,
        evidence=[Evidence(object="contacts", entity_id=entity_id, field="status", before="active",
                           after="departed", note="from the CRM export")],
        observed_at=datetime(2026, 1, 3, 9, tzinfo=UTC), source="demo",
        dedupe_key=f"{kind.value}:{entity_id}", narrative=narrative,
    )


def test_signal_documents_are_recalled_by_signal_id(memory: SemanticMemory) -> None:
    departed = make_signal("c1", SignalKind.champion_departed, "Champion Ada Park left Initech.")
    memory.upsert([signal_document(departed)] + CORPUS)

    top = memory.search("acme", "Ada Park left", k=1)[0]

    assert (top.doc_id, top.source, top.account_id) == (departed.signal_id, "signal", "a1")
    assert "status: 'active' -> 'departed'" in top.snippet


@pytest.mark.slow
def test_real_model_ranks_the_semantically_related_document_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from world_model import embedder as embedder_module

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the embedder tried to open a network connection: {args}")

    monkeypatch.setattr(embedder_module, "_MODELS", {})  # load for real, even if loaded before
    monkeypatch.setattr(socket.socket, "connect", no_network)
    embedder = embedder_module.SentenceTransformerEmbedder()
    memory = LanceDbMemory(tmp_path / "vectors", embedder)
    started = time.perf_counter()
    memory.upsert([
        doc("usage", "Weekly active users fell by half since the last release."),
        doc("champion", "Our main sponsor at the customer resigned and has left the company."),
        doc("deal", "The renewal contract signature was pushed out to next quarter."),
    ])
    loaded_and_embedded = time.perf_counter() - started

    hits = memory.search("acme", "the key contact quit their job", k=3)

    assert hits[0].doc_id == "champion"
    assert hits[0].score > hits[1].score
    assert embedder.dimension == 384
    assert loaded_and_embedded < 120
