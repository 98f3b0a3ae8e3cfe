"""Reviewer edits and questions: a new version through policy again, the old one can no longer run."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.errors import (
    ArgumentsDigestMismatchError,
    InvalidArgumentsError,
    NotAwaitingReviewError,
    ProposalNotFoundError,
    RationaleRequiredError,
)
from actions.status import ProposalStatus
from decisioning.contracts import PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal

ARGS = {"subject": "Call the new champion", "body": "Usage dropped 40%", "due_in_days": 3,
        "owner": "ana@acme.test"}


def _status(loop: Loop, proposal_id: str, version: int) -> ProposalStatus:
    stored = loop.store.get(proposal_id, version=version)
    assert stored is not None
    return stored.status


def test_edit_makes_a_new_version_that_goes_through_policy_again(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), PolicyOutcome.needs_approval)
    v2 = loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 7}, "a week is fairer")
    assert v2.version == 2 and v2.arguments["due_in_days"] == 7
    assert v2.arguments_digest != v1.arguments_digest
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.superseded
    assert _status(loop, v1.proposal_id, 2) is ProposalStatus.pending_policy
    assert [p.version for p in loop.store.pending_policy()] == [2]
    [entry] = loop.ledger.entries("acme", kind="proposal.edited")
    assert entry.actor == "rita" and entry.payload["from_version"] == 1
    assert entry.payload["previous_digest"] == v1.arguments_digest
    assert entry.payload["arguments_digest"] == v2.arguments_digest
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(v1)  # the newest version awaits policy; nobody can approve anything yet
    loop.classify(PolicyOutcome.needs_approval)
    with pytest.raises(ArgumentsDigestMismatchError):
        loop.approve(v1)
    loop.approve(v2)
    [result] = loop.executor.execute_ready()
    assert result.proposal_version == 2 and result.idempotency_key.startswith("prop-1:v2:")
    assert loop.crm.mutations == 1


def test_edit_validates_arguments_against_the_action_schema(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), PolicyOutcome.needs_approval)
    with pytest.raises(InvalidArgumentsError) as caught:
        loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 365, "x": 1}, "longer")
    assert any("due_in_days" in p for p in caught.value.problems)
    assert any("x" in p for p in caught.value.problems)
    with pytest.raises(InvalidArgumentsError, match="as they are"):
        loop.review.edit("acme", v1.proposal_id, "rita", dict(ARGS), "same")
    with pytest.raises(RationaleRequiredError):
        loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 5}, " ")
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.needs_approval
    assert loop.ledger.entries("acme", kind="proposal.edited") == []


@pytest.mark.parametrize("outcome", [PolicyOutcome.automatic, PolicyOutcome.forbidden])
def test_decided_proposals_cannot_be_edited(tmp_path: Path, outcome: PolicyOutcome) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), outcome)
    with pytest.raises(NotAwaitingReviewError):
        loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 5}, "later")


def test_an_approved_proposal_cannot_be_edited(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), PolicyOutcome.needs_approval)
    loop.approve(v1)
    with pytest.raises(NotAwaitingReviewError):
        loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 5}, "later")


def test_another_tenants_proposal_cannot_be_edited_or_questioned(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(tenant="globex", arguments=ARGS), PolicyOutcome.needs_approval)
    with pytest.raises(ProposalNotFoundError):
        loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "due_in_days": 5}, "later")
    with pytest.raises(ProposalNotFoundError):
        loop.review.request_info("acme", v1.proposal_id, "rita", "why?")
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.needs_approval


def test_request_info_holds_the_proposal_until_answered(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), PolicyOutcome.needs_approval)
    assert loop.review.request_info("acme", v1.proposal_id, "rita", " Who is the new champion? ") is None
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.info_requested
    [question] = loop.store.info_requests("acme", open_only=True)
    assert (question.question, question.reviewer, question.proposal_version) == (
        "Who is the new champion?", "rita", 1)
    assert loop.store.info_requests("globex") == []
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(v1)
    [entry] = loop.ledger.entries("acme", kind="review.info_requested")
    assert entry.actor == "rita" and entry.payload["question"] == "Who is the new champion?"

    [answered] = loop.review.answer_info("acme", v1.proposal_id, "playbook", "Bo Chen since May")
    assert answered.answer == "Bo Chen since May" and answered.answered_by == "playbook"
    assert loop.store.info_requests("acme", open_only=True) == []
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.needs_approval
    assert len(loop.ledger.entries("acme", kind="review.info_answered")) == 1
    loop.approve(v1)
    assert len(loop.executor.execute_ready()) == 1


def test_a_questioned_proposal_can_be_edited_instead_of_answered(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(arguments=ARGS), PolicyOutcome.needs_approval)
    loop.review.request_info("acme", v1.proposal_id, "rita", "Is Ana still the owner?")
    v2 = loop.review.edit("acme", v1.proposal_id, "rita", {**ARGS, "owner": "bo@acme.test"}, "Bo owns it")
    assert _status(loop, v1.proposal_id, 1) is ProposalStatus.superseded
    assert v2.version == 2
    with pytest.raises(RationaleRequiredError):
        loop.review.request_info("acme", v1.proposal_id, "rita", "")
