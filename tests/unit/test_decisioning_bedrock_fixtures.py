"""Builders for the Bedrock agent tests (no tests here): recorded Converse responses in the documented
shape (botocore's bedrock-runtime service model), a stubbed boto3 client, and an agent over fake ports."""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.stub import ANY, Stubber

from decisioning.bedrock import BedrockAgent, BedrockAgentConfig
from decisioning.bedrock.config import LARGE_MODEL, SMALL_MODEL
from decisioning.tools import read_tool_registry
from perception.contracts import Signal, SignalKind
from tests.unit.test_decisioning_fixtures import NOTIFY_ARGS, fixed_clock, make_signal
from tests.unit.test_decisioning_tools_fixtures import make_ports

_ids = itertools.count(1)


def tool_use(name: str, payload: Any, use_id: str | None = None) -> dict[str, Any]:
    return {"toolUse": {"toolUseId": use_id or f"tooluse_{next(_ids)}", "name": name, "input": payload}}


def text(words: str) -> dict[str, Any]:
    return {"text": words}


def response(*content: dict[str, Any], stop: str | None = None, tokens: tuple[int, int] = (900, 150)
             ) -> dict[str, Any]:
    uses_tools = any("toolUse" in block for block in content)
    return {
        "output": {"message": {"role": "assistant", "content": list(content)}},
        "stopReason": stop or ("tool_use" if uses_tools else "end_turn"),
        "usage": {"inputTokens": tokens[0], "outputTokens": tokens[1], "totalTokens": sum(tokens)},
        "metrics": {"latencyMs": 420},
    }


def signal() -> Signal:
    return make_signal(SignalKind.deal_slipped)


def submission(**overrides: Any) -> dict[str, Any]:
    body = {"action_type": "notify.owner", "arguments": dict(NOTIFY_ARGS),
            "rationale": "The renewal deal slipped a month; the owner should know today.",
            "evidence": [{"kind": "signal", "ref": signal().signal_id}], "confidence": 0.82,
            "expected_effect": "The owner re-plans the close.", "cost_estimate_usd": 0.0}
    return {**body, **overrides}


class SpyClient:
    """Passes calls to the stubbed client and keeps each request (to see what went back to the model)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: list[dict[str, Any]] = []

    def converse(self, **request: Any) -> dict[str, Any]:
        self.requests.append(copy.deepcopy(request))  # the agent keeps appending to its messages
        return self.client.converse(**request)


@contextmanager
def stubbed() -> Iterator[tuple[SpyClient, Stubber]]:
    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="x",
                          aws_secret_access_key="y")
    with Stubber(client) as stubber:
        yield SpyClient(client), stubber
        stubber.assert_no_pending_responses()


def expect(stubber: Stubber, answer: dict[str, Any], model: str = SMALL_MODEL) -> None:
    stubber.add_response("converse", answer, {"modelId": model, "messages": ANY, "system": ANY,
                                              "toolConfig": ANY, "inferenceConfig": ANY})


def make_agent(client: SpyClient, **config: Any) -> tuple[BedrockAgent, list]:
    ports, fakes = make_ports()
    sleeps: list[float] = []
    agent = BedrockAgent(client, read_tool_registry(ports), BedrockAgentConfig(**config), clock=fixed_clock,
                         sleep=sleeps.append)
    return agent, [fakes, sleeps]


__all__ = ["LARGE_MODEL", "SMALL_MODEL"]
