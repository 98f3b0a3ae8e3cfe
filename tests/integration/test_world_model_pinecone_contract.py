"""PineconeMemory against Prism serving Pinecone's published data-plane spec (tests/contracts/pinecone/).

Prism validates every request against the spec; any ``Violation: request`` in its log fails the test.
Prism is stateless (a query never returns what was upserted), so this suite checks request shapes,
response parsing, batching and error mapping; behaviour is in the memory contract suite."""

from __future__ import annotations

import math
import random
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pinecone import Index
from pinecone.errors.exceptions import NotFoundError, RateLimitError, UnauthorizedError

from world_model.contracts import MemoryDocument
from world_model.memory import MemoryStoreError
from world_model.pinecone_memory import PineconeMemory, _metadata, upsert_batches

from .test_world_model_memory_contract import FakeEmbedder

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "contracts" / "pinecone" / "pinecone_db_data_2026-04.oas.yaml"
SPEC_DIMENSION = 1024  # describe_index_stats' example in the spec


class DenseFakeEmbedder(FakeEmbedder):
    """Dense pseudo-random unit vectors, as wide on the wire as a real model's."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            rng = random.Random(text)
            values = [rng.uniform(-1, 1) for _ in range(self.dimension)]
            norm = math.sqrt(sum(v * v for v in values))
            out.append([v / norm for v in values])
        return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prism:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log
        self.mark = 0

    def new_lines(self) -> list[str]:
        lines = self.log.read_text(errors="replace").splitlines()
        new, self.mark = lines[self.mark:], len(lines)
        return new


@pytest.fixture(scope="module")
def prism_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prism]:
    installed = subprocess.run(["bash", str(ROOT / "scripts" / "ensure_prism.sh")], capture_output=True,
                               text=True, timeout=600)
    assert installed.returncode == 0, f"scripts/ensure_prism.sh failed:\n{installed.stderr}"
    binary = installed.stdout.strip().splitlines()[-1]
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    with log.open("w") as out:
        process = subprocess.Popen([binary, "mock", "-h", "127.0.0.1", "-p", str(port), str(SPEC)],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "Prism is listening" not in log.read_text(errors="replace"):
            assert process.poll() is None, f"Prism exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"Prism did not start in 60 s:\n{log.read_text()}"
            time.sleep(0.2)
        yield Prism(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def prism(prism_server: Prism) -> Iterator[Prism]:
    prism_server.new_lines()
    yield prism_server
    violations = [line for line in prism_server.new_lines() if "Violation: request" in line]
    assert not violations, "requests that break Pinecone's spec:\n" + "\n".join(violations)


def memory(prism: Prism, dimension: int = SPEC_DIMENSION, prefer: str | None = None) -> PineconeMemory:
    headers = {"Prefer": prefer} if prefer else None
    return PineconeMemory(Index(host=prism.url, api_key="test-key", additional_headers=headers),
                          DenseFakeEmbedder(dimension=dimension))


def docs(n: int, tenant: str = "acme") -> list[MemoryDocument]:
    return [MemoryDocument(doc_id=f"note-{i}", tenant=tenant, account_id="a1" if i % 2 else None,
                           source="note", text=f"note {i} about the renewal", metadata={"i": i},
                           created_at=datetime(2026, 1, 3, tzinfo=UTC)) for i in range(n)]


def requests(lines: list[str], path: str) -> int:
    return sum(1 for line in lines if "[HTTP SERVER]" in line and f" {path} " in line)


def test_upsert_requests_follow_the_spec_and_are_batched(prism: Prism) -> None:
    batch = docs(250)

    written = memory(prism).upsert(batch)

    lines = prism.new_lines()
    assert written == 250  # Prism's fetch example holds none of these ids: all are new
    embedded = DenseFakeEmbedder(dimension=SPEC_DIMENSION).embed([d.text for d in batch])
    vectors = [{"id": d.doc_id, "values": v, "metadata": _metadata(d, "fake-bow-64", "0" * 64)}
               for d, v in zip(batch, embedded, strict=True)]
    # one request for the model marker, then the documents split under Pinecone's 2 MB cap
    assert requests(lines, "/vectors/upsert") == 1 + len(list(upsert_batches(vectors))) > 2
    assert requests(lines, "/vectors/fetch") == 1 + 3  # the marker, then ids 100 per request
    prism.mark -= len(lines)  # let the fixture scan these lines for violations too


def test_search_sends_a_tenant_and_model_filter_and_drops_foreign_matches(prism: Prism) -> None:
    # The spec's example match carries metadata of no tenant: it must never come back as a hit.
    assert memory(prism).search("acme", "renewal at risk", k=10, account_id="a1") == []
    assert requests(prism.new_lines(), "/query") == 1


def test_count_reads_the_tenants_namespace(prism: Prism) -> None:
    assert memory(prism).count("example-namespace-2") == 30_000 - 1  # the spec's example, less the marker
    assert memory(prism).count("acme") == 0


def test_an_index_of_another_dimension_is_refused_before_writing(prism: Prism) -> None:
    with pytest.raises(MemoryStoreError, match="1024-dimensional"):
        memory(prism, dimension=64).upsert(docs(1))
    assert requests(prism.new_lines(), "/vectors/upsert") == 0


@pytest.mark.parametrize("code, error", [("401", UnauthorizedError), ("404", NotFoundError)])
def test_errors_surface_as_the_sdks_typed_errors(prism: Prism, code: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        memory(prism, prefer=f"code={code}").count("acme")


def test_rate_limits_are_retried_then_raised(prism: Prism, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("pinecone._internal.http_client._retry_sleep", slept.append)

    with pytest.raises(RateLimitError):
        memory(prism, prefer="code=429").count("acme")

    assert requests(prism.new_lines(), "/describe_index_stats") == 4  # first try + 3 retries
    assert len(slept) == 3
