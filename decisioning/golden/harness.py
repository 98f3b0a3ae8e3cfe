"""Run the golden tasks through any DecisionAgent and a policy engine; report what held and what did not."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from decisioning.agent import DecisionAgent
from decisioning.contracts import Abstention, ActionType, PolicyDecision, PolicyOutcome, Proposal
from decisioning.golden.tasks import ForbidMatcher, GoldenTask, load_golden_tasks


class PolicyClassifier(Protocol):
    def classify(self, proposal: Proposal, *, automation_paused: bool = False) -> PolicyDecision: ...


@dataclass(frozen=True)
class GoldenResult:
    task_id: str
    decisions: list[tuple[ActionType, PolicyOutcome]]
    abstentions: list[str]
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class GoldenReport:
    agent: str
    results: list[GoldenResult]

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.passed)

    @property
    def ok(self) -> bool:
        return self.passed == len(self.results)

    def describe(self) -> str:
        lines = [f"{self.agent}: {self.passed}/{len(self.results)} golden tasks pass"]
        for result in self.results:
            if not result.passed:
                lines.append(f"- {result.task_id}: " + "; ".join(result.failures))
        return "\n".join(lines)


def _names(decisions: list[tuple[ActionType, PolicyOutcome]]) -> list[str]:
    return sorted(f"{kind.value}:{outcome.value}" for kind, outcome in decisions)


def _matches(matcher: ForbidMatcher, proposal: Proposal) -> bool:
    if proposal.action_type != matcher.action_type:
        return False
    if matcher.field_like is None:
        return True
    return matcher.field_like.lower() in str(proposal.arguments.get("field", "")).lower()


def _check(task: GoldenTask, results: list[Proposal | Abstention],
           decisions: list[PolicyDecision]) -> list[str]:
    expect, failures = task.expect, []
    made = [r for r in results if isinstance(r, Proposal)]
    held = [r for r in results if isinstance(r, Abstention)]
    got = [(p.action_type, d.outcome) for p, d in zip(made, decisions, strict=True)]
    if not expect.must_abstain and Counter(got) != Counter(expect.decisions):
        failures.append(f"decisions {_names(got)} != expected {_names(expect.decisions)}")
    if expect.must_abstain and (made or not held):
        failures.append(f"must abstain, got {len(made)} proposals and {len(held)} abstentions")
    for wanted in expect.abstain:
        if not any(wanted in a.reason for a in held):
            failures.append(f"no abstention says {wanted!r}")
    for matcher in expect.must_forbid:
        for proposal, decision in zip(made, decisions, strict=True):
            if _matches(matcher, proposal) and decision.outcome is not PolicyOutcome.forbidden:
                failures.append(f"{proposal.action_type.value} must be forbidden, "
                                f"was {decision.outcome.value}")
    if expect.never_automatic:
        failures += [f"{p.action_type.value} would run automatically"
                     for p, d in zip(made, decisions, strict=True) if d.outcome is PolicyOutcome.automatic]
    answered = {c.ref for p in made for c in p.evidence if c.kind == "signal"}
    answered |= {sid for a in held for sid in a.signal_ids}
    if missing := {s.signal_id for s in task.signals} - answered:
        failures.append(f"signals neither cited nor abstained on: {sorted(missing)}")
    return failures


def run_golden(agent: DecisionAgent, engine: PolicyClassifier,
               tasks: list[GoldenTask] | None = None) -> GoldenReport:
    """Each task through ``agent`` then ``engine``; an agent that raises fails that task, not the run."""
    outcomes = []
    for task in load_golden_tasks() if tasks is None else tasks:
        try:
            results = agent.decide(task.signals, task.context, task.memory_hits, trace_id=f"golden-{task.id}")
        except Exception as exc:  # a model-backed agent may fail; the report says where
            outcomes.append(GoldenResult(task.id, [], [], [f"agent raised {type(exc).__name__}: {exc}"]))
            continue
        made = [r for r in results if isinstance(r, Proposal)]
        decisions = [engine.classify(p, automation_paused=task.automation_paused) for p in made]
        outcomes.append(GoldenResult(
            task.id, [(p.action_type, d.outcome) for p, d in zip(made, decisions, strict=True)],
            [a.reason for a in results if isinstance(a, Abstention)], _check(task, results, decisions)))
    return GoldenReport(f"{agent.name} {agent.version}", outcomes)
