"""What policy reserved from a tenant's day comes back when the proposal ends without running:
rejected, expired, superseded by an edit, or refused at execution. What runs keeps its charge."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from actions.contracts import ReviewVerdict
from decisioning.contracts import PolicyOutcome, Proposal
from decisioning.controls import Controls
from tests.integration.test_actions_support import Loop, make_proposal, policy

COST_USD = 40.0


class Budgeted:
    def __init__(self, root: Path) -> None:
        self.loop = Loop(root)
        url = self.loop.store.engine.url.render_as_string(hide_password=False)
        self.controls = Controls(url, self.loop.ledger, clock=self.loop.clock)
        self.controls.set_budget("acme", by="ops@vendor.com", max_actions_per_day=10,
                                 max_spend_per_day_usd=100.0)

    def classify(self, outcome: PolicyOutcome, proposal_id: str = "prop-1") -> Proposal:
        """What the policy stage does: record the verdict, then charge the day."""
        proposal = make_proposal(proposal_id).model_copy(update={"cost_estimate_usd": COST_USD})
        decision = policy(proposal, outcome, at=self.loop.clock())
        self.loop.store.add_proposals([proposal])
        self.loop.store.record_policy(decision)
        self.controls.charge(decision, proposal)
        return proposal

    def used(self) -> tuple[int, int]:
        state = self.controls.state("acme", "crm.create_task")
        return state.actions_today, state.spend_today_cents


def test_a_rejection_gives_back_the_reserved_spend(tmp_path: Path) -> None:
    b = Budgeted(tmp_path)
    proposal = b.classify(PolicyOutcome.needs_approval)
    assert b.used() == (0, 4000)
    b.loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.reject, "rita", "not now",
                         proposal.arguments_digest)
    assert b.used() == (0, 0)


def test_an_approved_and_executed_proposal_keeps_its_charge(tmp_path: Path) -> None:
    b = Budgeted(tmp_path)
    proposal = b.classify(PolicyOutcome.needs_approval)
    b.loop.approve(proposal)
    [result] = b.loop.executor.execute_ready()
    assert result.status == "succeeded" and b.used() == (0, 4000)


def test_an_expired_proposal_gives_back_its_reservation(tmp_path: Path) -> None:
    b = Budgeted(tmp_path)
    b.classify(PolicyOutcome.needs_approval, "prop-1")
    b.classify(PolicyOutcome.needs_approval, "prop-2")
    assert b.used() == (0, 8000)
    # Past the 72 h review window (usage is still read for the day the charges were made).
    assert b.loop.store.expire_overdue(b.loop.clock() + timedelta(hours=73), timedelta(hours=72)) == 2
    assert b.used() == (0, 0)


def test_an_edit_gives_back_the_superseded_versions_reservation(tmp_path: Path) -> None:
    b = Budgeted(tmp_path)
    proposal = b.classify(PolicyOutcome.needs_approval)
    b.loop.review.edit("acme", proposal.proposal_id, "rita", {**proposal.arguments, "subject": "Call Ada"},
                       "clearer subject")
    assert b.used() == (0, 0), "version 2 is charged when policy classifies it"


def test_a_refusal_at_execution_gives_back_the_action_and_the_spend(tmp_path: Path) -> None:
    b = Budgeted(tmp_path)
    b.classify(PolicyOutcome.automatic)
    assert b.used() == (1, 4000)
    b.controls.kill(by="ops@vendor.com", reason="incident", tenant="acme")
    assert b.loop.executor.execute_ready() == []
    assert b.used() == (0, 0)
