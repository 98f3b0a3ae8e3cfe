"""A tool session: one tenant, one caller. Every call is checked by the tool policy, run, and recorded.

The tenant is bound here and never read from tool arguments. Unknown tools, invalid arguments, denied
calls and failing handlers come back as structured errors (``ToolResponse.error``), never as raises."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from decisioning.tools.contracts import ToolCall, ToolCallStatus, ToolError, ToolResponse, ToolSpec
from decisioning.tools.policy import ToolPolicy, ToolPrincipal
from decisioning.tools.registry import ToolRegistry
from world_model.tenancy import validate_tenant

MAX_RESULT_CHARS = 20_000


def result_digest(result: dict[str, Any]) -> str:
    canonical = json.dumps(result, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors())


class ToolSession:
    def __init__(self, registry: ToolRegistry, tenant: str, principal: ToolPrincipal,
                 policy: ToolPolicy | None = None, *, agent_paused: Callable[[], bool] | None = None,
                 clock: Callable[[], datetime] | None = None, max_kept_calls: int = 10_000) -> None:
        self.registry = registry
        self.tenant = validate_tenant(tenant)
        self.principal = principal
        self.policy = policy or ToolPolicy()
        self._paused = agent_paused or (lambda: False)
        self._clock = clock or (lambda: datetime.now(UTC))
        # The newest calls (a long-lived MCP session would otherwise grow without bound).
        self.calls: deque[ToolCall] = deque(maxlen=max_kept_calls)

    def allowed_tools(self) -> list[ToolSpec]:
        """The tools this caller may run now (what to offer a model or list over MCP)."""
        paused = self._paused()
        return [t for t in self.registry
                if self.policy.authorize(self.principal, t, agent_paused=paused).allowed]

    def call(self, name: str, arguments: Any, *, call_id: str | None = None) -> ToolResponse:
        started, t0 = self._clock(), time.perf_counter()

        def done(status: ToolCallStatus, tool: ToolSpec | None, *, result: dict[str, Any] | None = None,
                 message: str | None = None, policy_version: str | None = None,
                 reasons: list[str] | None = None) -> ToolResponse:
            record = ToolCall(
                call_id=call_id or uuid.uuid4().hex, tenant=self.tenant, principal=self.principal.name,
                tool=name, tier=tool.tier if tool else None, arguments=arguments, status=status,
                policy_version=policy_version, reasons=reasons or [], error=message,
                result_digest=result_digest(result) if result is not None else None, started_at=started,
                duration_ms=round((time.perf_counter() - t0) * 1000, 3),
            )
            self.calls.append(record)
            error = None if status == ToolCallStatus.ok \
                else ToolError(code=status.value, message=message or "")
            return ToolResponse(call=record, result=result, error=error)

        tool = self.registry.get(name) if isinstance(name, str) else None
        if tool is None:
            return done(ToolCallStatus.unknown_tool, None, message=(
                f"no tool named {name!r}; the tools you may call are: {', '.join(self.registry.names)}"))
        verdict = self.policy.authorize(self.principal, tool, agent_paused=self._paused())
        if not verdict.allowed:
            forbids = ", ".join(verdict.reasons)
            why = "; ".join(verdict.errors) or (f"forbidden by {forbids}" if forbids
                                                else "no policy permits it")
            return done(ToolCallStatus.denied, tool, policy_version=verdict.policy_version,
                        reasons=verdict.reasons, message=f"calling {tool.name} is not allowed: {why}")
        try:
            args = tool.input_model.model_validate(arguments if arguments is not None else {})
        except ValidationError as exc:
            return done(ToolCallStatus.invalid_arguments, tool, policy_version=verdict.policy_version,
                        reasons=verdict.reasons,
                        message=f"invalid arguments for {tool.name}: {_problems(exc)}")
        try:
            result = tool.handler(self.tenant, args)
        except Exception as exc:  # a failing store is the model's problem to route around, not a crash
            return done(ToolCallStatus.error, tool, policy_version=verdict.policy_version,
                        reasons=verdict.reasons, message=f"{tool.name} failed: {type(exc).__name__}: {exc}")
        if len(json.dumps(result, default=str)) > MAX_RESULT_CHARS:
            result = {**result, "truncated": True}
            result = _shrink(result)
        return done(ToolCallStatus.ok, tool, result=result, policy_version=verdict.policy_version,
                    reasons=verdict.reasons)


def _shrink(result: dict[str, Any]) -> dict[str, Any]:
    """Halve the longest list until the result fits the model's context budget."""
    while len(json.dumps(result, default=str)) > MAX_RESULT_CHARS:
        lists = [(k, v) for k, v in result.items() if isinstance(v, list) and v]
        if not lists:
            return {"truncated": True, "error": "the result is too large to return; narrow the query"}
        key, longest = max(lists, key=lambda kv: len(json.dumps(kv[1], default=str)))
        result = {**result, key: longest[: len(longest) // 2]}
    return result
