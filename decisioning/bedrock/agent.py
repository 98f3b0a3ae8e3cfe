"""The Bedrock decision agent: Converse with tool use over the read-tool plane, answers through
``submit_proposal`` / ``abstain``, validated, budgeted, routed from a small model to a larger one.

It implements the DecisionAgent port (decisioning/agent.py): ``deliberate`` records every raw Converse
response and tool call in the DecisionRecord, and ``replay`` re-validates that transcript without
calling a model. It holds no write tool: what it proposes still goes to policy and, where required, a
human."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from decisioning import evidence
from decisioning.actions import TAXONOMY_VERSION
from decisioning.agent import DecisionRecord, Deliberation
from decisioning.bedrock.config import BedrockAgentConfig
from decisioning.bedrock.conversation import Budget, Conversation, Converse, RouteResult, RunTool
from decisioning.bedrock.situation import situation_message
from decisioning.bedrock.submission import (
    AcceptedSubmission,
    KnownEvidence,
    action_catalog,
    answer_tool_specs,
)
from decisioning.bedrock.transcript import LiveTranscript, RecordedTranscript, ReplayDivergedError
from decisioning.contracts import Abstention, Proposal
from decisioning.injection.screen import untrusted_texts
from decisioning.prompts import load_prompt
from decisioning.tools import ToolPolicy, ToolPrincipal, ToolRegistry, ToolSession
from perception.contracts import Signal
from world_model.contracts import AccountContext, MemoryHit

AGENT_PRINCIPAL = "bedrock-agent"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class BedrockAgent:
    """``client``: a boto3 ``bedrock-runtime`` client (build it with ``botocore.config.Config(retries=
    {"mode": "adaptive", "max_attempts": 5})``); ``tools``: the read-tool registry bound to the stores.
    Both may be None for an agent that only replays."""

    name = "bedrock"
    version = "1.0.0"

    def __init__(self, client: Any | None, tools: ToolRegistry | None,
                 config: BedrockAgentConfig | None = None, *, tool_policy: ToolPolicy | None = None,
                 clock: Callable[[], datetime] | None = None, sleep: Callable[[float], None] = time.sleep,
                 agent_paused: Callable[[str], bool] | None = None) -> None:
        self.client = client
        self.tools = tools
        self.config = config or BedrockAgentConfig()
        self.tool_policy = tool_policy or ToolPolicy()
        self.clock = clock or _utc_now
        self.sleep = sleep
        self.agent_paused = agent_paused or (lambda tenant: False)
        self.principal = ToolPrincipal(AGENT_PRINCIPAL)
        self.prompt = load_prompt(self.config.prompt_version)  # fails at build time, not mid-decision

    @classmethod
    def for_replay(cls, record: DecisionRecord) -> BedrockAgent:
        """An agent that can only replay: built with the config the record was decided with."""
        return cls(None, None, BedrockAgentConfig.model_validate(record.agent_config["config"]))

    def decide(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
               trace_id: str | None = None) -> list[Proposal | Abstention]:
        return self.deliberate(signals, context, memory_hits, trace_id=trace_id).results

    def deliberate(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
                   trace_id: str | None = None) -> Deliberation:
        for signal in signals:
            if (signal.tenant, signal.account_id) != (context.tenant, context.account_id):
                raise ValueError(f"signal {signal.signal_id} belongs to {signal.tenant}/{signal.account_id}, "
                                 f"not to {context.tenant}/{context.account_id}: deliberate once per account")
        if self.client is None or self.tools is None:
            raise ValueError("this BedrockAgent was built for replay only: pass a bedrock-runtime client and "
                             "the read-tool registry to decide")
        decided_at, trace = self.clock(), trace_id or uuid.uuid4().hex
        session = ToolSession(self.tools, context.tenant, self.principal, self.tool_policy,
                              agent_paused=lambda: self.agent_paused(context.tenant), clock=self.clock)
        offered = session.allowed_tools()
        live = LiveTranscript(self.client, session, self.config.throttle_retries, self.sleep)
        final: RouteResult | None = None
        if signals and context.name is not None:
            base = self._request_base([{"toolSpec": {"name": t.wire_name, "description": t.description,
                                                     "inputSchema": {"json": t.input_schema()}}}
                                       for t in offered])
            final = self._converse(signals, context, memory_hits, base, live.converse, live.run_tool,
                                   live.events)
        record = DecisionRecord(
            tenant=context.tenant, account_id=context.account_id, trace_id=trace, decided_at=decided_at,
            agent=self.name, agent_version=self.version,
            agent_config={"config": self.config.recorded(), "tools": [t.name for t in offered],
                          "tool_policy_version": self.tool_policy.policy_version,
                          "principal": self.principal.name},
            model=final.model if final else None, prompt_version=self.config.prompt_version,
            taxonomy_version=TAXONOMY_VERSION, signals=list(signals), context=context,
            memory_hits=list(memory_hits), model_outputs=live.events)
        return Deliberation(self._results(record, final), record)

    def replay(self, record: DecisionRecord) -> list[Proposal | Abstention]:
        if (record.agent, record.agent_version) != (self.name, self.version):
            raise ValueError(f"the decision was made by {record.agent} {record.agent_version}; this is "
                             f"{self.name} {self.version}: replay it with the release that made it")
        recorded = RecordedTranscript(record.model_outputs)
        final = None
        if record.signals and record.context.name is not None:
            final = self._converse(record.signals, record.context, record.memory_hits, {}, recorded.converse,
                                   recorded.run_tool, [])
        if not recorded.finished():
            raise ReplayDivergedError("the replayed conversation ended before the recorded transcript did")
        return self._results(record, final)

    def _request_base(self, read_tools: list[dict[str, Any]]) -> dict[str, Any]:
        system = self.prompt.render(action_catalog=action_catalog(), max_proposals=self.config.max_proposals)
        return {"system": [{"text": system}],
                "toolConfig": {"tools": [*read_tools, *answer_tool_specs()],
                               "toolChoice": {self.config.tool_choice: {}}}}

    def _converse(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit],
                  base: dict[str, Any], converse: Converse, run_tool: RunTool,
                  events: list[dict[str, Any]]) -> RouteResult:
        budget = Budget(self.config)
        first = situation_message(signals, context, memory_hits)
        models = self.config.models
        result = RouteResult(models[0])
        for index, model in enumerate(models):
            known = KnownEvidence(
                decision_signals={s.signal_id: s.narrative for s in signals}, owner=context.owner,
                signals={s.signal_id: s.narrative for s in signals},
                paths={str(p) for p in context.paths},
                memory={h.doc_id: f"{h.source}, score {h.score:.2f}: {h.snippet[:160]}" for h in memory_hits},
                people={c.contact_id.lower() for c in [*context.contacts, *context.champions]},
                untrusted=untrusted_texts(context, signals))
            known.distrust([h.snippet for h in memory_hits])
            result = Conversation(model, self.config, base, first, known, budget, converse, run_tool,
                                  is_last_model=index == len(models) - 1,
                                  proposal_key=lambda a: self._proposal_id(context.tenant, a)).run()
            events.append({"event": "route", "model": model, "ending": result.ending, "reason": result.reason,
                           "budget": budget.summary()})
            if result.ending != "escalate":
                break
        return result

    @staticmethod
    def _proposal_id(tenant: str, accepted: AcceptedSubmission) -> str:
        return evidence.proposal_id(tenant, accepted.submission.action_type, accepted.signal_ids)

    def _results(self, record: DecisionRecord, final: RouteResult | None) -> list[Proposal | Abstention]:
        if not record.signals:
            return []
        digest = record.inputs_digest
        all_ids = sorted({s.signal_id for s in record.signals})

        def abstention(ids: list[str], reason: str) -> Abstention:
            return Abstention(tenant=record.tenant, account_id=record.account_id, signal_ids=ids,
                              reason=reason, trace_id=record.trace_id, agent=self.name,
                              agent_version=self.version, inputs_digest=digest)

        if final is None:
            return [abstention(all_ids, f"account {record.account_id} is unknown to the situation graph; "
                                        "sync the graph before deciding")]
        proposals = [] if final.ending == "escalate" else [
            self._proposal(record, final.model, accepted, digest) for accepted in final.accepted]
        results: list[Proposal | Abstention] = list(proposals)
        covered = {c.ref for p in proposals for c in p.evidence if c.kind == "signal"}
        if final.abstained is not None and final.ending == "done":
            ids = sorted(set(final.abstained.signal_ids) & set(all_ids)) or all_ids
            results.append(abstention(ids, f"{final.model} abstained: {final.abstained.reason}"))
            covered |= set(ids)
        rest = [sid for sid in all_ids if sid not in covered]
        if rest:
            why = {"done": f"{final.model} proposed nothing for these signals",
                   "stop": f"no decision: {final.reason}",
                   "escalate": f"no valid answer from any model: {final.reason}"}[final.ending]
            results.append(abstention(rest, why))
        return results

    def _proposal(self, record: DecisionRecord, model: str, accepted: AcceptedSubmission,
                  digest: str) -> Proposal:
        submission = accepted.submission
        rationale = submission.rationale
        if accepted.held_for_review:
            rationale += (" Held for human review: text in " + ", ".join(sorted(accepted.held_for_review))
                          + " looks like instructions.")
        return Proposal(
            proposal_id=self._proposal_id(record.tenant, accepted), tenant=record.tenant,
            account_id=record.account_id, action_type=submission.action_type, arguments=accepted.arguments,
            rationale=rationale, evidence=accepted.citations, confidence=submission.confidence,
            risk_tier=accepted.risk_tier, expected_effect=submission.expected_effect,
            cost_estimate_usd=submission.cost_estimate_usd, agent=self.name, agent_version=self.version,
            model=model, prompt_version=record.prompt_version, trace_id=record.trace_id,
            created_at=record.decided_at, taxonomy_version=record.taxonomy_version, inputs_digest=digest,
        )
