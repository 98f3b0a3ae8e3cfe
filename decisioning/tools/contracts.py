"""What a tool is, and the record every call leaves (allowed or not), for the agent's decision record."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from decisioning.contracts import RiskTier

TOOL_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# Tiers the agent may be handed at all: L0 reads aggregates, L1 reads free text or money figures.
READ_TIERS: frozenset[RiskTier] = frozenset({RiskTier.L0, RiskTier.L1})
TIER_NUMBER: dict[RiskTier, int] = {RiskTier.L0: 0, RiskTier.L1: 1, RiskTier.L2: 2, RiskTier.L3: 3}


class ToolInput(BaseModel):
    """Base of every tool's arguments: unknown fields are refused (a model must not smuggle ``tenant``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# handler(tenant, validated input) -> JSON-able result; the tenant comes from the serving session only.
ToolHandler = Callable[[str, Any], dict[str, Any]]


@dataclass(frozen=True)
class ToolSpec:
    name: str  # dotted, e.g. "signals.list_recent"
    description: str
    input_model: type[ToolInput]
    tier: RiskTier
    handler: ToolHandler
    reads: str  # the data domain it reads: signals | crm | telemetry | memory | graph

    @property
    def wire_name(self) -> str:
        """Bedrock tool names allow only ``[a-zA-Z0-9_-]``: dots become ``__``."""
        return self.name.replace(".", "__")

    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema()
        schema.pop("title", None)
        return schema


class ToolCallStatus(StrEnum):
    ok = "ok"
    denied = "denied"  # the tool policy did not allow it
    unknown_tool = "unknown_tool"
    invalid_arguments = "invalid_arguments"
    error = "error"  # the tool ran and failed (e.g. a store was unreachable)


class ToolCall(BaseModel):
    """One tool call as it happened; goes into the agent's decision record."""

    model_config = ConfigDict(frozen=True)

    call_id: str
    tenant: str
    principal: str
    tool: str  # the name as the caller sent it (may be unknown)
    tier: RiskTier | None = None  # None when the tool is unknown
    arguments: Any = None
    status: ToolCallStatus
    policy_version: str | None = None
    reasons: list[str] = Field(default_factory=list)  # @ids of the determining tool policies
    error: str | None = None
    result_digest: str | None = None  # SHA-256 of the canonical result (ok calls)
    started_at: datetime
    duration_ms: float = Field(ge=0.0)


class ToolError(BaseModel):
    code: Literal["denied", "unknown_tool", "invalid_arguments", "error"]
    message: str


class ToolResponse(BaseModel):
    """What goes back to the model: a result or a structured error, plus the call record."""

    call: ToolCall
    result: dict[str, Any] | None = None
    error: ToolError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def content(self) -> dict[str, Any]:
        """The JSON shown to the model."""
        if self.error is not None:
            return {"error": self.error.model_dump()}
        return self.result or {}
