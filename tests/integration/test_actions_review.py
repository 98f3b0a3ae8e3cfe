"""Human review: one decision per proposal version, bound to the arguments digest, within its window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.contracts import ReviewVerdict
from actions.errors import (
    ApprovalWindowExpiredError,
    ArgumentsDigestMismatchError,
    NotAwaitingReviewError,
    ProposalNotFoundError,
    RationaleRequiredError,
)
from actions.status import ProposalStatus
from decisioning.contracts import PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal


def test_approve_once_executes_once_and_approving_again_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    decision = loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita",
                                  "champion left, act now", proposal.arguments_digest)
    assert decision.reviewer == "rita" and decision.proposal_version == 1

    assert len(loop.executor.execute_ready()) == 1
    with pytest.raises(NotAwaitingReviewError, match="already"):
        loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "again",
                           proposal.arguments_digest)
    assert loop.executor.execute_ready() == []
    assert loop.crm.mutations == 1
    assert len(loop.ledger.entries("acme", kind="review.decided")) == 1
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 1


def test_decision_is_ledgered_with_reviewer_digest_and_rationale(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.reject, "rita", "  wrong owner ",
                       proposal.arguments_digest)
    [entry] = loop.ledger.entries("acme", kind="review.decided")
    assert entry.actor == "rita"
    assert entry.payload["proposal_id"] == proposal.proposal_id
    assert entry.payload["proposal_version"] == 1
    assert entry.payload["verdict"] == "reject"
    assert entry.payload["arguments_digest"] == proposal.arguments_digest
    assert entry.payload["rationale"] == "wrong owner"
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.rejected  # type: ignore[union-attr]
    assert loop.executor.execute_ready() == [] and loop.crm.mutations == 0
    loop.ledger.verify("acme")


def test_digest_mismatch_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    other = make_proposal(arguments={"subject": "something else"}).arguments_digest
    with pytest.raises(ArgumentsDigestMismatchError):
        loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "ok", other)
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.needs_approval  # type: ignore[union-attr]
    assert loop.ledger.entries("acme", kind="review.decided") == []


def test_approval_after_the_window_is_refused_and_expires_the_proposal(tmp_path: Path) -> None:
    loop = Loop(tmp_path, ttl=timedelta(hours=1))
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(ApprovalWindowExpiredError):
        loop.approve(proposal)
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.expired  # type: ignore[union-attr]
    assert len(loop.ledger.entries("acme", kind="proposal.expired")) == 1
    assert loop.executor.execute_ready() == [] and loop.crm.mutations == 0


def test_approval_just_inside_the_window_is_accepted(tmp_path: Path) -> None:
    loop = Loop(tmp_path, ttl=timedelta(hours=1))
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.clock.advance(timedelta(minutes=59))
    loop.approve(proposal)
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.approved  # type: ignore[union-attr]


def test_expire_overdue_ledgers_each_expiry(tmp_path: Path) -> None:
    loop = Loop(tmp_path, ttl=timedelta(hours=1))
    loop.submit(make_proposal("p1"), PolicyOutcome.needs_approval)
    loop.submit(make_proposal("p2"), PolicyOutcome.needs_approval)
    loop.clock.advance(timedelta(hours=2))
    assert loop.review.expire_overdue() == 2
    assert loop.review.expire_overdue() == 0
    assert len(loop.ledger.entries("acme", kind="proposal.expired")) == 2


def test_rationale_is_required(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    with pytest.raises(RationaleRequiredError):
        loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "   ",
                           proposal.arguments_digest)


def test_another_tenants_proposal_looks_missing(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(tenant="globex"), PolicyOutcome.needs_approval)
    with pytest.raises(ProposalNotFoundError):
        loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "ok",
                           proposal.arguments_digest)
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.needs_approval  # type: ignore[union-attr]


@pytest.mark.parametrize("outcome", [PolicyOutcome.automatic, PolicyOutcome.forbidden])
def test_proposals_policy_did_not_send_to_review_cannot_be_decided(tmp_path: Path,
                                                                   outcome: PolicyOutcome) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), outcome)
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(proposal)


def test_a_superseded_version_cannot_be_approved_with_its_old_digest(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    v2 = loop.submit(make_proposal(version=2, arguments={"subject": "edited"}), PolicyOutcome.needs_approval)
    with pytest.raises(ArgumentsDigestMismatchError):
        loop.approve(v1)
    loop.approve(v2)
    assert loop.store.get(v1.proposal_id, version=1).status is ProposalStatus.superseded  # type: ignore[union-attr]
