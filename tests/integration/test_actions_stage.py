"""The policy stage and the rows the Iceberg export reads."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import cedarpy
import pytest

from actions.stage import classify_pending_proposals
from actions.status import ProposalStatus
from decisioning.contracts import ActionType, PolicyOutcome, Proposal, RiskTier
from decisioning.policy import CedarPolicyEngine, PolicyEvaluation
from decisioning.policy_context import ControlState
from tests.integration.test_actions_support import T0, Loop, make_proposal, policy


class FakePolicyEngine:
    def __init__(self, outcomes: dict[str, PolicyOutcome], errors: list[str] | None = None) -> None:
        self.outcomes = outcomes
        self.errors = errors or []
        self.calls = 0

    def evaluate(self, proposal: Proposal, controls: ControlState | None = None) -> PolicyEvaluation:
        self.calls += 1
        decision = policy(proposal, self.outcomes[proposal.proposal_id], errors=self.errors)
        return PolicyEvaluation(decision, {"context": {"killed": False}}, 0.1)


def test_classify_records_each_verdict_once_and_ledgers_it(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.store.add_proposals([make_proposal("a"), make_proposal("b"), make_proposal("g", tenant="globex")])
    engine = FakePolicyEngine({"a": PolicyOutcome.automatic, "b": PolicyOutcome.needs_approval,
                               "g": PolicyOutcome.forbidden})
    decisions = classify_pending_proposals(loop.store, engine, loop.ledger)
    assert sorted(d.proposal_id for d in decisions) == ["a", "b", "g"]
    assert classify_pending_proposals(loop.store, engine, loop.ledger) == []
    assert engine.calls == 3
    entries = loop.ledger.entries("acme", kind="policy.decided")
    assert {e.payload["proposal_id"]: e.payload["outcome"] for e in entries} == {
        "a": "automatic", "b": "needs_approval"}
    assert loop.ledger.entries("globex", kind="policy.decided")[0].payload["outcome"] == "forbidden"


def test_policy_errors_are_ledgered_as_errors_and_fail_closed(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.store.add_proposals([make_proposal("a")])
    engine = FakePolicyEngine({"a": PolicyOutcome.automatic}, errors=["engine timed out"])
    classify_pending_proposals(loop.store, engine, loop.ledger)
    [entry] = loop.ledger.entries("acme", kind="policy.decided")
    assert entry.payload["error"] is True and entry.payload["errors"] == ["engine timed out"]
    assert loop.store.get("a").status is ProposalStatus.forbidden  # type: ignore[union-attr]
    assert loop.executor.execute_ready() == []


def test_export_rows_have_keys_and_aware_timestamps(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    auto = loop.submit(make_proposal("auto"), PolicyOutcome.automatic)
    review = loop.submit(make_proposal("rev"), PolicyOutcome.needs_approval)
    loop.approve(review)
    loop.executor.execute_ready()
    proposals = {r["proposal_id"]: r for r in loop.store.proposal_rows()}
    assert proposals["auto"]["status"] == "executed" and proposals["auto"]["created_at"] == T0
    decisions = loop.store.decision_rows()
    assert {(d["stage"], d["outcome"]) for d in decisions} == {
        ("policy", "automatic"), ("policy", "needs_approval"), ("review", "approve")}
    assert len({d["decision_id"] for d in decisions}) == 3
    actions = loop.store.action_rows()
    assert {a["proposal_id"] for a in actions} == {auto.proposal_id, review.proposal_id}
    assert all(isinstance(a["executed_at"], datetime) and a["executed_at"].tzinfo == UTC for a in actions)
    assert {a["status"] for a in actions} == {"succeeded"}


@pytest.mark.parametrize("failure", ["crash", "timeout"])
def test_a_crashing_or_hanging_engine_executes_nothing_and_ledgers_each_denial_as_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failure: str) -> None:
    loop = Loop(tmp_path)
    notify = make_proposal("n", action_type=ActionType.notify_owner, arguments={
        "channel": "owner", "recipient": "ana@acme.test", "subject": "Heads up", "message": "Slipped."})
    loop.store.add_proposals([make_proposal("a"), notify.model_copy(update={"risk_tier": RiskTier.L0})])
    engine = CedarPolicyEngine(timeout_s=0.05)
    assert engine.evaluate(loop.store.pending_policy()[1]).decision.outcome is PolicyOutcome.automatic

    def broken(*args: object, **kwargs: object) -> object:
        if failure == "timeout":
            time.sleep(1)
        raise RuntimeError("engine process died")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", broken)
    decisions = classify_pending_proposals(loop.store, engine, loop.ledger)

    assert {d.outcome for d in decisions} == {PolicyOutcome.forbidden}
    entries = loop.ledger.entries("acme", kind="policy.decided")
    assert len(entries) == 2 and all(e.payload["error"] is True for e in entries)
    needle = "deadline" if failure == "timeout" else "engine process died"
    assert all(needle in e.payload["errors"][0] for e in entries)
    assert loop.executor.execute_ready() == []
