"""Amazon Titan text embeddings through Bedrock (``bedrock-runtime`` ``InvokeModel``), an ``Embedder``.

Titan Text Embeddings V2 embeds one text per request; vectors are requested normalized so cosine and
dot product agree with the local model's."""

from __future__ import annotations

import json
from typing import Any

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_V2_DIMENSIONS = (256, 512, 1024)
MAX_INPUT_CHARS = 50_000  # Titan V2 takes up to 8,192 tokens / 50,000 characters


class BedrockEmbeddingError(RuntimeError):
    """Bedrock answered an embedding request with something that is not an embedding."""


class BedrockTitanEmbedder:
    """Titan embeddings; ``client`` is a boto3 ``bedrock-runtime`` client, e.g.
    ``boto3.client("bedrock-runtime", region_name="us-east-1")``."""

    def __init__(self, client: Any, model: str = TITAN_V2, dimension: int = 1024) -> None:
        if model == TITAN_V2 and dimension not in TITAN_V2_DIMENSIONS:
            raise ValueError(f"Titan V2 makes vectors of {TITAN_V2_DIMENSIONS} dimensions, not {dimension}")
        self._client = client
        self._model = model
        self._dimension = dimension

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def model_id(self) -> str:
        return f"bedrock:{self._model}:{self._dimension}"

    def embed(self, texts: list[str]) -> list[list[float]]:
        return [self._embed_one(text) for text in texts]

    def _embed_one(self, text: str) -> list[float]:
        body = json.dumps({"inputText": text[:MAX_INPUT_CHARS] or " ", "dimensions": self._dimension,
                           "normalize": True})
        response = self._client.invoke_model(modelId=self._model, body=body, contentType="application/json",
                                             accept="application/json")
        payload = json.loads(response["body"].read())
        vector = payload.get("embedding")
        if not isinstance(vector, list) or len(vector) != self._dimension:
            got = len(vector) if isinstance(vector, list) else type(vector).__name__
            raise BedrockEmbeddingError(
                f"{self._model} returned {got} values where {self._dimension} were asked for; check that "
                "the model id and dimension are those the index was built with"
            )
        return [float(v) for v in vector]
