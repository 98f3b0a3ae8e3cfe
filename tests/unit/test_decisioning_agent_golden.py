"""Golden tasks (decisioning/golden/tasks.json) for the playbook agent under the shipped Cedar policies,
and the harness itself: it must fail an agent that gets them wrong."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from decisioning.agent import DecisionRecord, Deliberation
from decisioning.contracts import Abstention, ActionType, Citation, Proposal, RiskTier
from decisioning.golden import load_golden_tasks, run_golden
from decisioning.golden.tasks import GOLDEN_TASKS_PATH
from decisioning.playbook import PlaybookAgent
from decisioning.policy import CedarPolicyEngine
from perception.contracts import Signal
from tests.unit.test_decisioning_fixtures import fixed_clock, make_proposal, update_args
from world_model.contracts import AccountContext, MemoryHit


@pytest.fixture(scope="module")
def engine() -> CedarPolicyEngine:
    return CedarPolicyEngine(clock=fixed_clock)


def test_the_playbook_agent_passes_every_golden_task(engine: CedarPolicyEngine) -> None:
    report = run_golden(PlaybookAgent(clock=fixed_clock), engine)

    assert report.ok, report.describe()
    assert len(report.results) >= 20


def test_the_tasks_cover_abstain_forbid_and_unreviewed_text() -> None:
    tasks = load_golden_tasks()
    assert sum(t.expect.must_abstain for t in tasks) >= 4
    assert sum(bool(t.expect.must_forbid) for t in tasks) >= 2
    assert sum(t.expect.never_automatic for t in tasks) >= 2
    forbidden = [t for t in tasks if any(o.value == "forbidden" for _, o in t.expect.decisions)]
    assert forbidden, "at least one task must be forbidden by the policy engine itself"


class FakeRecklessAgent:
    """Answers every situation with an automatic-looking notification and a write to the amount."""

    name = "reckless"
    version = "0"

    def decide(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
               trace_id: str | None = None) -> list[Proposal | Abstention]:
        base = make_proposal(ActionType.notify_owner, {"recipient": "ana@acme.example", "subject": "s",
                                                       "message": "m"}, tenant=context.tenant)
        write = make_proposal(ActionType.crm_update_field, update_args("amount", 0), risk_tier=RiskTier.L2,
                              tenant=context.tenant)
        cites = [Citation(kind="signal", ref=s.signal_id) for s in signals]
        return [p.model_copy(update={"evidence": cites or p.evidence}) for p in (base, write)]

    def deliberate(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
                   trace_id: str | None = None) -> Deliberation:
        raise NotImplementedError("the harness only needs decide()")

    def replay(self, record: DecisionRecord) -> list[Proposal | Abstention]:
        raise NotImplementedError("the harness only needs decide()")


class FakeCrashingAgent(FakeRecklessAgent):
    def decide(self, signals: list[Signal], context: AccountContext, memory_hits: list[MemoryHit], *,
               trace_id: str | None = None) -> list[Proposal | Abstention]:
        raise RuntimeError("model unavailable")


def test_the_harness_fails_an_agent_that_gets_them_wrong(engine: CedarPolicyEngine) -> None:
    report = run_golden(FakeRecklessAgent(), engine)
    failures = {r.task_id: " | ".join(r.failures) for r in report.results}

    assert not report.ok and report.passed == 0
    assert "must abstain, got 2 proposals" in failures["must-abstain-thin-evidence"]
    named = failures["never-automatic-an-account-name-with-instructions"]
    assert "notify.owner would run automatically" in named
    assert "expected ['notify.owner:automatic']" in failures["deal-slips-with-money-at-stake"]
    assert "reckless 0: 0/" in report.describe()


def test_an_agent_that_raises_fails_each_task_without_stopping_the_run(engine: CedarPolicyEngine) -> None:
    report = run_golden(FakeCrashingAgent(), engine)
    assert len(report.results) == len(load_golden_tasks())
    assert all(r.failures == ["agent raised RuntimeError: model unavailable"] for r in report.results)


def test_a_task_file_with_duplicate_ids_or_an_unknown_format_is_refused(tmp_path: Path) -> None:
    document = json.loads(GOLDEN_TASKS_PATH.read_text())
    document["tasks"].append(document["tasks"][0])
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="duplicate task ids"):
        load_golden_tasks(path)
    path.write_text(json.dumps({**document, "format": 9}))
    with pytest.raises(ValueError, match="unknown golden task format 9"):
        load_golden_tasks(path)
