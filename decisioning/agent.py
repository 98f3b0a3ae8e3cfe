"""The decision-agent port: what every agent (playbook, Bedrock, ...) offers the loop and replay.

An agent decides on one account's signals and keeps a :class:`DecisionRecord` of exactly what it
decided on — and, for a model-backed agent, the model's raw outputs — so the decision can be rebuilt
later from the ledger and checked hash for hash (decisioning/replay.py)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from decisioning.contracts import Abstention, Proposal
from ledger.entry import canonical_json
from perception.contracts import Signal
from world_model.contracts import AccountContext, MemoryHit

DECISION_RECORD_VERSION = 1
DECISION_INPUTS_KIND = "decision.inputs"  # the ledger entry kind that holds a DecisionRecord


class DecisionRecord(BaseModel):
    """Everything one decision rested on: enough to rebuild it without the graph, memory or a model."""

    model_config = ConfigDict(frozen=True)

    record_version: Literal[1] = DECISION_RECORD_VERSION
    tenant: str
    account_id: str
    trace_id: str
    decided_at: datetime  # the agent's clock for this decision: every proposal's created_at
    agent: str
    agent_version: str
    agent_config: dict[str, Any] = Field(default_factory=dict)  # what the agent was built with
    model: str | None = None
    prompt_version: str | None = None
    policy_version: str | None = None
    taxonomy_version: str
    signals: list[Signal]
    context: AccountContext
    memory_hits: list[MemoryHit]
    # Model-backed agents: each raw model response, verbatim, in the order received. Replay re-validates
    # these instead of calling the model again.
    model_outputs: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def inputs_digest(self) -> str:
        """SHA-256 over the canonical JSON (RFC 8785) of the whole record."""
        return record_digest(self.model_dump(mode="json"))


def record_digest(record_payload: dict[str, Any]) -> str:
    """The digest of a record already in its JSON form (as the ledger holds it)."""
    return hashlib.sha256(b"revloop.decision.v1\x00" + canonical_json(record_payload)).hexdigest()


@dataclass(frozen=True)
class Deliberation:
    """One decision: the agent's outputs and the record they can be rebuilt from."""

    results: list[Proposal | Abstention]
    record: DecisionRecord

    @property
    def proposals(self) -> list[Proposal]:
        return [r for r in self.results if isinstance(r, Proposal)]

    @property
    def abstentions(self) -> list[Abstention]:
        return [r for r in self.results if isinstance(r, Abstention)]


@runtime_checkable
class DecisionAgent(Protocol):
    """One account per call. Outputs name the agent, its version and ``record.inputs_digest``."""

    name: str
    version: str

    def decide(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
               trace_id: str | None = None) -> list[Proposal | Abstention]:
        """Proposals, then abstentions (each says why the agent held back)."""
        ...

    def deliberate(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
                   trace_id: str | None = None) -> Deliberation:
        """Like :meth:`decide`, and also the record to ledger for replay."""
        ...

    def replay(self, record: DecisionRecord) -> list[Proposal | Abstention]:
        """Rebuild the outputs from a record: re-run a deterministic agent, or re-validate the recorded
        model outputs of a model-backed one. Never calls a model or reads the graph."""
        ...
