"""The deterministic playbook agent: signals of one account in, proposals (or reasoned abstentions) out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from decisioning import evidence
from decisioning.actions import TAXONOMY_VERSION, ArgumentValidationError, validate_arguments
from decisioning.agent import DecisionRecord, Deliberation
from decisioning.contracts import Abstention, Proposal, RiskTier
from decisioning.default_plays import default_playbooks
from decisioning.injection.screen import screen_arguments, untrusted_texts
from decisioning.plays import Play, PlayStep, Situation
from decisioning.uncertainty import THIN_EVIDENCE_HEAT, conflicts, thin_evidence
from perception.contracts import Signal, SignalKind
from world_model.contracts import AccountContext, MemoryHit

_TIER_ORDER = list(RiskTier)


@dataclass(frozen=True)
class _Candidate:
    proposal: Proposal
    rank: tuple[int, int]  # (-severity, play order): lower goes first


def _utc_now() -> datetime:
    return datetime.now(UTC)


class PlaybookAgent:
    """Maps each signal kind to a play. Same record (signals, context, memory, clock, trace) -> the same
    proposals, byte for byte: that is what replay checks."""

    name = "playbook"
    version = "2.0.0"

    def __init__(
        self,
        playbooks: dict[SignalKind, Play] | None = None,
        clock: Callable[[], datetime] | None = None,
        *,
        max_proposals_per_account: int = 5,
        max_memory_citations: int = 3,
        thin_evidence_heat: float = THIN_EVIDENCE_HEAT,
    ) -> None:
        if max_proposals_per_account < 1:
            raise ValueError("max_proposals_per_account must be at least 1")
        self.custom_playbooks = playbooks is not None
        self.playbooks = default_playbooks() if playbooks is None else dict(playbooks)
        self.clock = clock or _utc_now
        self.max_proposals_per_account = max_proposals_per_account
        self.max_memory_citations = max_memory_citations
        self.thin_evidence_heat = thin_evidence_heat

    @property
    def config(self) -> dict[str, Any]:
        """What the agent was built with, recorded with every decision (:meth:`from_config` rebuilds it)."""
        return {"playbooks": "custom" if self.custom_playbooks else "default",
                "max_proposals_per_account": self.max_proposals_per_account,
                "max_memory_citations": self.max_memory_citations,
                "thin_evidence_heat": self.thin_evidence_heat}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PlaybookAgent:
        if config.get("playbooks", "default") != "default":
            raise ValueError("this decision was made with custom playbooks: build a PlaybookAgent with the "
                             "same plays and pass it to replay explicitly")
        return cls(max_proposals_per_account=int(config.get("max_proposals_per_account", 5)),
                   max_memory_citations=int(config.get("max_memory_citations", 3)),
                   thin_evidence_heat=float(config.get("thin_evidence_heat", THIN_EVIDENCE_HEAT)))

    def decide(
        self,
        signals: list[Signal],
        context: AccountContext,
        memory_hits: list[MemoryHit],
        *,
        trace_id: str | None = None,
    ) -> list[Proposal | Abstention]:
        """Proposals (highest severity first, at most ``max_proposals_per_account``), then abstentions."""
        return self.deliberate(signals, context, memory_hits, trace_id=trace_id).results

    def deliberate(
        self,
        signals: list[Signal],
        context: AccountContext,
        memory_hits: list[MemoryHit],
        *,
        trace_id: str | None = None,
    ) -> Deliberation:
        for signal in signals:
            if (signal.tenant, signal.account_id) != (context.tenant, context.account_id):
                raise ValueError(
                    f"signal {signal.signal_id} belongs to {signal.tenant}/{signal.account_id}, not to "
                    f"{context.tenant}/{context.account_id}: call decide() once per account"
                )
        record = DecisionRecord(
            tenant=context.tenant, account_id=context.account_id, trace_id=trace_id or uuid.uuid4().hex,
            decided_at=self.clock(), agent=self.name, agent_version=self.version, agent_config=self.config,
            taxonomy_version=TAXONOMY_VERSION, signals=list(signals), context=context,
            memory_hits=list(memory_hits))
        return Deliberation(self._decide(record), record)

    def replay(self, record: DecisionRecord) -> list[Proposal | Abstention]:
        if (record.agent, record.agent_version) != (self.name, self.version):
            raise ValueError(f"the decision was made by {record.agent} {record.agent_version}; this is "
                             f"{self.name} {self.version}: replay it with the release that made it")
        return self._decide(record)

    def _decide(self, record: DecisionRecord) -> list[Proposal | Abstention]:
        context, digest = record.context, record.inputs_digest
        if not record.signals:
            return []
        unique = sorted({s.signal_id: s for s in record.signals}.values(), key=lambda s: s.signal_id)
        abstentions: list[Abstention] = []

        def abstain(about: list[Signal], reason: str) -> None:
            abstentions.append(Abstention(
                tenant=context.tenant, account_id=context.account_id, signal_ids=[s.signal_id for s in about],
                reason=reason, trace_id=record.trace_id, agent=self.name, agent_version=self.version,
                inputs_digest=digest))

        if context.name is None:
            abstain(unique, f"account {context.account_id} is unknown to the situation graph; "
                            "sync the graph before deciding")
            return list(abstentions)
        contested: set[SignalKind] = set()
        for pair, reason in conflicts(unique):
            abstain([s for s in unique if s.kind in pair], reason)
            contested |= pair
        unique = [s for s in unique if s.kind not in contested]
        if unique and (reason := thin_evidence(unique, context, self.thin_evidence_heat)):
            abstain(unique, reason)
            return list(abstentions)

        hits = evidence.top_memory_hits(record.memory_hits, self.max_memory_citations)
        untrusted = untrusted_texts(context, unique)
        candidates: list[_Candidate] = []
        for order, kind in enumerate(SignalKind):
            of_kind = [s for s in unique if s.kind == kind]
            if not of_kind:
                continue
            play = self.playbooks.get(kind)
            if play is None:
                abstain(of_kind, f"no play is configured for {kind.value}")
                continue
            for group in self._groups(play, of_kind):
                situation = Situation(kind, tuple(group), context, tuple(hits))
                for step in play.steps:
                    reason = next((r for check in step.preconditions if (r := check(situation))), None)
                    if reason:
                        abstain(group, f"{step.action_type.value} not proposed: {reason}")
                        continue
                    try:
                        proposal = self._proposal(step, situation, hits, record, digest, untrusted)
                    except ArgumentValidationError as exc:
                        abstain(group, f"the play built arguments that fail their schema: {exc}")
                        continue
                    severity = max(evidence.SEVERITY_RANK[s.severity] for s in group)
                    candidates.append(_Candidate(proposal, (-severity, order)))

        candidates.sort(key=lambda c: c.rank)  # stable: play order breaks ties
        kept = [c.proposal for c in candidates[: self.max_proposals_per_account]]
        for dropped in candidates[self.max_proposals_per_account:]:
            ids = {c.ref for c in dropped.proposal.evidence if c.kind == "signal"}
            abstain([s for s in unique if s.signal_id in ids],
                     f"stop condition: at most {self.max_proposals_per_account} proposals per account "
                     f"per run; {dropped.proposal.action_type.value} left for a later run")
        return [*kept, *abstentions]

    @staticmethod
    def _groups(play: Play, signals: list[Signal]) -> list[list[Signal]]:
        if not play.per_entity:
            return [signals]
        by_entity: dict[str, list[Signal]] = {}
        for signal in signals:
            by_entity.setdefault(signal.entity_id, []).append(signal)
        return [by_entity[key] for key in sorted(by_entity)]

    def _proposal(self, step: PlayStep, situation: Situation, hits: list[MemoryHit],
                  record: DecisionRecord, inputs_digest: str, untrusted: dict[str, list[str]]) -> Proposal:
        ctx = situation.context
        signal_ids = [s.signal_id for s in situation.signals]
        arguments = validate_arguments(step.action_type, step.build_arguments(situation))
        rationale, risk_tier = evidence.rationale(step, situation, len(hits)), step.risk_tier
        # CRM and webhook text that reads like instructions must not run unreviewed: L1 is never automatic.
        if suspicious := screen_arguments(arguments, untrusted):
            risk_tier = max(risk_tier, RiskTier.L1, key=_TIER_ORDER.index)
            rationale += (" Held for human review: text from the CRM in "
                          + ", ".join(f"{where} ({', '.join(found)})" for where, found in suspicious.items())
                          + " looks like instructions.")
        return Proposal(
            proposal_id=evidence.proposal_id(ctx.tenant, step.action_type, signal_ids),
            tenant=ctx.tenant,
            account_id=ctx.account_id,
            action_type=step.action_type,
            arguments=arguments,
            rationale=rationale,
            evidence=evidence.citations(situation, hits),
            confidence=evidence.confidence(step, situation),
            risk_tier=risk_tier,
            expected_effect=step.expected_effect,
            cost_estimate_usd=0.0,
            agent=self.name,
            agent_version=self.version,
            trace_id=record.trace_id,
            created_at=record.decided_at,
            taxonomy_version=record.taxonomy_version,
            inputs_digest=inputs_digest,
        )
