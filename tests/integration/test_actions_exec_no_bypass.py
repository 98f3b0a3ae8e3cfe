"""No bypass: the executor acts only on an allowing policy verdict or a valid approval of that exact
version, re-checked at claim time from the stored records; every other path is refused and ledgered."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update

from actions.contracts import ReviewDecision, ReviewVerdict
from actions.errors import (
    ApprovalAlreadyUsedError,
    ApprovalExpiredError,
    ArgumentsDigestMismatchError,
    BindingMismatchError,
    NotAwaitingReviewError,
    NotExecutableError,
    RecordVersionRequiredError,
)
from actions.status import ProposalStatus, idempotency_key
from actions.tables import action_results, approvals, proposals, review_decisions
from decisioning.contracts import ActionType, PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal


def _set_status(loop: Loop, status: ProposalStatus, **values: object) -> None:
    with loop.store.engine.begin() as conn:
        conn.execute(update(proposals).values(status=status.value, ready_seq=99, **values))


def _refused(loop: Loop, error: type[NotExecutableError] = NotExecutableError) -> None:
    with pytest.raises(error):
        loop.executor.execute("acme", "prop-1")
    assert loop.crm.mutations == 0
    assert loop.ledger.entries("acme", kind="action.attempted") == []


def test_unclassified_proposal_marked_ready_in_the_db_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.store.add_proposals([make_proposal()])
    _set_status(loop, ProposalStatus.automatic)
    _refused(loop)
    assert loop.executor.execute_ready() == []
    [entry] = loop.ledger.entries("acme", kind="action.refused")
    assert entry.payload["code"] == "not_executable"
    assert loop.store.get("prop-1").status is ProposalStatus.refused  # type: ignore[union-attr]


@pytest.mark.parametrize("forged", [ProposalStatus.automatic, ProposalStatus.approved])
def test_forbidden_proposal_cannot_be_made_runnable(tmp_path: Path, forged: ProposalStatus) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.forbidden)
    with pytest.raises(NotAwaitingReviewError):
        loop.approve(proposal)
    _set_status(loop, forged)
    _refused(loop, BindingMismatchError if forged is ProposalStatus.automatic else NotExecutableError)


def test_forbidden_then_approved_with_a_forged_review_row_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.forbidden)
    decision = ReviewDecision(decision_id="rev_forged", proposal_id="prop-1", proposal_version=1,
                              tenant="acme", verdict=ReviewVerdict.approve, reviewer="mallory",
                              rationale="trust me", arguments_digest=proposal.arguments_digest,
                              decided_at=loop.clock(), expires_at=loop.clock() + timedelta(hours=1))
    with loop.store.engine.begin() as conn:
        conn.execute(insert(review_decisions).values(
            decision_id="rev_forged", proposal_id="prop-1", proposal_version=1, tenant="acme",
            verdict="approve", reviewer="mallory", body=decision.model_dump_json(), decided_at="x"))
    _set_status(loop, ProposalStatus.approved)
    _refused(loop, BindingMismatchError)


def test_policy_errors_fail_closed_even_if_the_status_is_forged(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.store.add_proposals([make_proposal()])
    loop.classify(PolicyOutcome.automatic, errors=["cedar: missing context attribute"])
    assert loop.store.get("prop-1").status is ProposalStatus.forbidden  # type: ignore[union-attr]
    _set_status(loop, ProposalStatus.automatic)
    _refused(loop)


def test_needs_approval_without_review_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    _refused(loop)
    _set_status(loop, ProposalStatus.approved)
    _refused(loop, BindingMismatchError)


def test_a_newer_version_after_approval_supersedes_it(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(v1)
    loop.store.add_proposals([make_proposal(version=2, arguments={"subject": "changed"})])
    assert loop.store.get("prop-1", version=1).status is ProposalStatus.superseded  # type: ignore[union-attr]
    with pytest.raises(NotExecutableError):
        loop.executor.execute("acme", "prop-1")  # v2 awaits policy; v1 may not run any more
    assert loop.executor.execute_ready() == [] and loop.crm.mutations == 0


@pytest.mark.parametrize("outcome", [PolicyOutcome.automatic, PolicyOutcome.needs_approval])
def test_arguments_edited_in_the_db_after_the_decision_are_refused(tmp_path: Path,
                                                                   outcome: PolicyOutcome) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), outcome)
    if outcome is PolicyOutcome.needs_approval:
        loop.approve(proposal)
    tampered = make_proposal(arguments={"subject": "Export every contact", "due_in_days": 1})
    with loop.store.engine.begin() as conn:  # body and digest column both rewritten
        conn.execute(update(proposals).values(body=tampered.model_dump_json(),
                                              arguments_digest=tampered.arguments_digest))
    _refused(loop, BindingMismatchError)


def test_body_edited_without_its_digest_column_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(), PolicyOutcome.automatic)
    tampered = make_proposal(arguments={"subject": "Export every contact", "due_in_days": 1})
    with loop.store.engine.begin() as conn:
        conn.execute(update(proposals).values(body=tampered.model_dump_json()))
    _refused(loop, BindingMismatchError)


def test_an_approval_expires_unused(tmp_path: Path) -> None:
    loop = Loop(tmp_path, validity=timedelta(hours=2))
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    loop.clock.advance(timedelta(hours=2))
    _refused(loop, ApprovalExpiredError)
    assert loop.executor.execute_ready() == []
    assert loop.store.get("prop-1").status is ProposalStatus.expired  # type: ignore[union-attr]
    [entry] = loop.ledger.entries("acme", kind="action.refused")
    assert entry.payload["code"] == "approval_expired"


def test_an_approval_just_inside_its_validity_runs(tmp_path: Path) -> None:
    loop = Loop(tmp_path, validity=timedelta(hours=2))
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    loop.clock.advance(timedelta(hours=2) - timedelta(seconds=1))
    [result] = loop.executor.execute_ready()
    binding = loop.store.approval("prop-1", 1)
    assert binding is not None and binding.used_by == result.idempotency_key
    assert result.authorized_by == f"review:{binding.decision_id}"


def test_an_approval_used_by_another_execution_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    with loop.store.engine.begin() as conn:
        conn.execute(update(approvals).values(used_by="prop-1:v1:another-key"))
    _refused(loop, ApprovalAlreadyUsedError)
    [entry] = loop.ledger.entries("acme", kind="action.refused")
    assert entry.payload["code"] == "approval_already_used"


def test_a_replayed_execution_reuses_its_key_and_changes_the_crm_once(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(proposal)
    [first] = loop.executor.execute_ready()
    # Replay: the stored result is removed and the status reset, as if the action never ran.
    with loop.store.engine.begin() as conn:
        conn.execute(update(action_results).values(idempotency_key="gone"))
        conn.execute(update(proposals).values(status="approved"))
    again = loop.executor.execute("acme", "prop-1")
    assert again.external_ids == first.external_ids
    assert loop.crm.mutations == 1 and first.idempotency_key == idempotency_key(proposal)


def test_a_replayed_decision_cannot_approve_another_version(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    v1 = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    loop.approve(v1)
    decision = loop.store.get("prop-1").review  # type: ignore[union-attr]
    assert decision is not None
    v2 = loop.submit(make_proposal(version=2, arguments={"subject": "more"}), PolicyOutcome.needs_approval)
    replay = decision.model_copy(update={"proposal_version": 2, "arguments_digest": v2.arguments_digest})
    with pytest.raises(NotAwaitingReviewError, match="already decided"):  # decision ids are single-use
        loop.store.record_review(replay)
    forged = decision.model_copy(update={"proposal_version": 2, "decision_id": "rev_new"})
    with pytest.raises(ArgumentsDigestMismatchError, match="other arguments"):
        loop.store.record_review(forged)
    assert loop.store.get("prop-1").status is ProposalStatus.needs_approval  # type: ignore[union-attr]
    assert loop.executor.execute_ready() == [] and v2.version == 2


def test_approval_row_tampered_with_is_refused(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.crm.put("acme", "accounts", "acc-1", stage="renewal")
    proposal = loop.submit(make_proposal(action_type=ActionType.crm_update_field, arguments={
        "object": "accounts", "record_id": "acc-1", "field": "stage", "value": "at_risk"}),
        PolicyOutcome.needs_approval)
    with pytest.raises(RecordVersionRequiredError):
        loop.approve(proposal)
    loop.approve(proposal, record_version=1)
    with loop.store.engine.begin() as conn:
        conn.execute(update(approvals).values(record_version=2))
    _refused(loop, BindingMismatchError)
