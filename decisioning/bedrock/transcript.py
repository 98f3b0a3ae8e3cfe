"""The decision's transcript: every raw Converse response and every tool call, in order. Recorded as the
DecisionRecord's ``model_outputs``; replay feeds it back to the same conversation loop, no model called."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from decisioning.bedrock.conversation import ToolOutcome
from decisioning.tools.session import ToolSession

# Converse errors worth waiting out; anything else is a configuration problem (model access, model id).
TRANSIENT_ERRORS = frozenset({"ThrottlingException", "ServiceUnavailableException", "ModelTimeoutException",
                              "InternalServerException", "ModelNotReadyException", "ModelErrorException"})


class BedrockAgentError(RuntimeError):
    """Bedrock refused the request for a reason retrying will not fix; the message says what to check."""


class BedrockUnavailableError(BedrockAgentError):
    """Bedrock stayed throttled or unavailable through every retry; the decision was not made (its signals
    stay unprocessed, so the next run decides them)."""


class ReplayDivergedError(ValueError):
    """The replayed conversation asked for something other than what the transcript recorded."""


class LiveTranscript:
    """Calls Bedrock and the tool session, recording both."""

    def __init__(self, client: Any, session: ToolSession, throttle_retries: int,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.client, self.session, self.retries, self.sleep = client, session, throttle_retries, sleep
        self.events: list[dict[str, Any]] = []

    def converse(self, request: dict[str, Any]) -> dict[str, Any]:
        for attempt in range(self.retries + 1):
            try:
                response = self.client.converse(**request)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                message = exc.response.get("Error", {}).get("Message", "")
                self.events.append({"event": "converse_error", "model": request["modelId"], "code": code,
                                    "message": message, "attempt": attempt})
                if code not in TRANSIENT_ERRORS:
                    raise BedrockAgentError(
                        f"Bedrock Converse with {request['modelId']} failed: {code}: {message}. Check the "
                        "model id, that model access is granted in this region, and the IAM policy "
                        "(bedrock:InvokeModel)") from exc
                if attempt == self.retries:
                    raise BedrockUnavailableError(
                        f"Bedrock Converse with {request['modelId']} is still {code} after "
                        f"{self.retries + 1} attempts; the signals stay unprocessed for the next run"
                    ) from exc
                self.sleep(min(2.0 ** attempt, 20.0))
                continue
            recorded = {k: v for k, v in response.items() if k != "ResponseMetadata"}
            self.events.append({"event": "converse", "model": request["modelId"], "response": recorded})
            return recorded
        raise AssertionError("unreachable")  # pragma: no cover

    def run_tool(self, tool_use_id: str, name: str, raw: Any) -> ToolOutcome:
        response = self.session.call(name, raw, call_id=tool_use_id or None)
        spec = self.session.registry.get(name)
        outcome = ToolOutcome(spec.name if spec else None, response.call.status.value, response.content())
        self.events.append({"event": "tool", "tool_use_id": tool_use_id, "name": name, "input": raw,
                            "tool": outcome.tool, "status": outcome.status, "content": outcome.content,
                            "call": response.call.model_dump(mode="json")})
        return outcome


class RecordedTranscript:
    """Serves a recorded transcript back, checking each request matches what was recorded."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self._events = [e for e in events if e.get("event") in ("converse", "tool")]
        self._next = 0
        self.events = list(events)

    def _take(self, kind: str, what: str) -> dict[str, Any]:
        if self._next >= len(self._events):
            raise ReplayDivergedError(f"replay asked for {what}, but the transcript ends there")
        event = self._events[self._next]
        self._next += 1
        if event["event"] != kind:
            raise ReplayDivergedError(f"replay asked for {what}, the transcript has a {event['event']} event "
                                      f"at position {self._next}")
        return event

    def converse(self, request: dict[str, Any]) -> dict[str, Any]:
        event = self._take("converse", f"a {request['modelId']} response")
        if event["model"] != request["modelId"]:
            raise ReplayDivergedError(f"replay asked {request['modelId']}, the transcript has "
                                      f"{event['model']}")
        return dict(event["response"])

    def run_tool(self, tool_use_id: str, name: str, raw: Any) -> ToolOutcome:
        event = self._take("tool", f"tool {name}")
        if (event["name"], event["input"], event["tool_use_id"]) != (name, raw, tool_use_id):
            raise ReplayDivergedError(f"replay called {name} ({tool_use_id}), the transcript has "
                                      f"{event['name']} ({event['tool_use_id']})")
        return ToolOutcome(event["tool"], event["status"], event["content"])

    def finished(self) -> bool:
        return self._next == len(self._events)
