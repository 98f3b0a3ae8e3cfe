"""Titan embeddings at the boto3 edge: the request Bedrock gets, the vector read back (botocore Stubber)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from world_model.bedrock_embedder import TITAN_V2, BedrockEmbeddingError, BedrockTitanEmbedder


@pytest.fixture
def stubbed() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def answer(vector: list[float]) -> dict:
    raw = json.dumps({"embedding": vector, "inputTextTokenCount": 3}).encode()
    return {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"}


def expect(stubber: Stubber, text: str, dimension: int, vector: list[float]) -> None:
    stubber.add_response("invoke_model", answer(vector), {
        "modelId": TITAN_V2, "contentType": "application/json", "accept": "application/json",
        "body": json.dumps({"inputText": text, "dimensions": dimension, "normalize": True})})


def test_each_text_is_one_titan_request_and_vectors_come_back_in_order(stubbed: tuple) -> None:
    client, stubber = stubbed
    expect(stubber, "champion left", 256, [0.5] * 256)
    expect(stubber, "usage fell", 256, [-0.25] * 256)

    embedder = BedrockTitanEmbedder(client, dimension=256)
    vectors = embedder.embed(["champion left", "usage fell"])

    assert [v[0] for v in vectors] == [0.5, -0.25] and all(len(v) == 256 for v in vectors)
    assert embedder.model_id == "bedrock:amazon.titan-embed-text-v2:0:256" and embedder.dimension == 256


def test_a_vector_of_the_wrong_length_is_an_error(stubbed: tuple) -> None:
    client, stubber = stubbed
    expect(stubber, "x", 512, [0.1] * 3)

    with pytest.raises(BedrockEmbeddingError, match="returned 3 values where 512"):
        BedrockTitanEmbedder(client, dimension=512).embed(["x"])


def test_bedrock_errors_reach_the_caller(stubbed: tuple) -> None:
    client, stubber = stubbed
    stubber.add_client_error("invoke_model", service_error_code="ThrottlingException", http_status_code=429)

    with pytest.raises(client.exceptions.ThrottlingException):
        BedrockTitanEmbedder(client, dimension=1024).embed(["x"])


def test_titan_v2_dimensions_are_checked() -> None:
    with pytest.raises(ValueError, match="256, 512, 1024"):
        BedrockTitanEmbedder(object(), dimension=384)
