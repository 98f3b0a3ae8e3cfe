"""Backtest a candidate policy set: replay it over past proposals and report what would change.

Past proposals come from the ledger (``proposal.created``), each with the decision recorded for it
(``policy.decided``) and the Cedar context recorded at the time (kill switches, budgets, usage), so the
candidate is judged on the world as it was. Tenant constraints come from the candidate directory: they
are part of the policy set under test."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from decisioning.contracts import PolicyOutcome, Proposal
from decisioning.controls import SYSTEM_TENANT
from decisioning.policy import CedarPolicyEngine
from ledger.store import Ledger

PROPOSAL_CREATED = "proposal.created"
POLICY_DECIDED = "policy.decided"


@dataclass(frozen=True)
class ReplayedDecision:
    tenant: str
    proposal_id: str
    proposal_version: int
    action_type: str
    current: str  # the outcome recorded at the time
    current_policy_version: str
    candidate: PolicyOutcome
    candidate_reasons: list[str]
    candidate_errors: list[str]
    context_recorded: bool  # False: an old entry without inputs, replayed with no switches or budgets

    @property
    def changed(self) -> bool:
        return self.current != self.candidate.value


@dataclass(frozen=True)
class OutcomeTransition:
    current: str
    candidate: str
    count: int
    examples: list[str]  # proposal ids

    @property
    def changed(self) -> bool:
        return self.current != self.candidate


@dataclass(frozen=True)
class BacktestReport:
    candidate_dir: str
    candidate_version: str
    candidate_problems: list[str]
    tenants: list[str]
    since: datetime | None
    replayed: list[ReplayedDecision] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count
    example_limit: int = 3

    @property
    def changed(self) -> list[ReplayedDecision]:
        return [r for r in self.replayed if r.changed]

    @property
    def transitions(self) -> list[OutcomeTransition]:
        """Every (recorded -> candidate) pair with its count, changes first, most frequent first."""
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for item in self.replayed:
            groups[(item.current, item.candidate.value)].append(item.proposal_id)
        found = [OutcomeTransition(cur, cand, len(ids), ids[:self.example_limit])
                 for (cur, cand), ids in groups.items()]
        return sorted(found, key=lambda t: (not t.changed, -t.count, t.current, t.candidate))

    def table(self) -> str:
        lines = [f"candidate {self.candidate_version} ({self.candidate_dir}) over {len(self.replayed)} "
                 f"recorded decisions of {', '.join(self.tenants) or 'no tenant'}"
                 + (f" since {self.since.isoformat()}" if self.since else "")
                 + f": {len(self.changed)} would change"]
        lines += [f"  candidate problem: {p}" for p in self.candidate_problems]
        if self.replayed:
            lines.append(f"  {'current':<15} -> {'candidate':<15} {'count':>6}  examples")
            for t in self.transitions:
                mark = "" if t.changed else "  (unchanged)"
                lines.append(f"  {t.current:<15} -> {t.candidate:<15} {t.count:>6}  "
                             f"{', '.join(t.examples)}{mark}")
        errors = sum(1 for r in self.replayed if r.candidate_errors)
        if errors:
            lines.append(f"  {errors} candidate decisions failed closed with errors, e.g. "
                         f"{next(r for r in self.replayed if r.candidate_errors).candidate_errors[0]}")
        without = sum(1 for r in self.replayed if not r.context_recorded)
        if without:
            lines.append(f"  {without} decisions had no recorded context: replayed without switches "
                         "or budgets")
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(self.skipped.items())]
        return "\n".join(lines)


def backtest_policies(ledger: Ledger, candidate: CedarPolicyEngine, *, tenant: str | None = None,
                      since: datetime | None = None, example_limit: int = 3) -> BacktestReport:
    """Replay ``candidate`` over every proposal with a recorded policy decision (of ``tenant``, created
    at or after ``since``). Reads the ledger only; changes nothing."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    tenants = [tenant] if tenant else [t for t in ledger.tenants() if t != SYSTEM_TENANT]
    replayed: list[ReplayedDecision] = []
    skipped: Counter[str] = Counter()
    for name in tenants:
        created: dict[tuple[str, int], dict[str, Any]] = {}
        decided: dict[tuple[str, int], dict[str, Any]] = {}
        for entry in ledger.entries(name):
            payload = entry.payload
            if entry.kind == PROPOSAL_CREATED:
                created[(payload.get("proposal_id", ""), payload.get("version", 1))] = payload
            elif entry.kind == POLICY_DECIDED:
                decided[(payload["proposal_id"], payload["proposal_version"])] = payload
        for key, decision in decided.items():
            item = _replay(candidate, name, key, created.get(key), decision, since, skipped)
            if item is not None:
                replayed.append(item)
    return BacktestReport(
        candidate_dir=str(candidate.policy_dir), candidate_version=candidate.policy_version,
        candidate_problems=candidate.validate(), tenants=tenants, since=since, replayed=replayed,
        skipped=dict(skipped), example_limit=example_limit)


def _replay(candidate: CedarPolicyEngine, tenant: str, key: tuple[str, int],
            payload: dict[str, Any] | None, decision: dict[str, Any], since: datetime | None,
            skipped: Counter[str]) -> ReplayedDecision | None:
    if payload is None:
        skipped["no proposal.created entry in the ledger"] += 1
        return None
    try:
        proposal = Proposal.model_validate(payload)
    except ValidationError:
        skipped["proposal.created payload no longer reads as a Proposal"] += 1
        return None
    if since is not None and proposal.created_at < since:
        return None
    context = (decision.get("inputs") or {}).get("context")
    evaluation = candidate.evaluate(proposal, context=context) if context is not None \
        else candidate.evaluate(proposal)
    result = evaluation.decision
    return ReplayedDecision(
        tenant=tenant, proposal_id=key[0], proposal_version=key[1], action_type=proposal.action_type.value,
        current=decision["outcome"], current_policy_version=decision.get("policy_version", ""),
        candidate=result.outcome, candidate_reasons=result.reasons, candidate_errors=result.errors,
        context_recorded=context is not None)
