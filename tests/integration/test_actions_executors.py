"""Executors: exactly-once effects through idempotency keys, and nothing runs without authority."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from actions.contracts import ActionResult, ActionStatus, ReviewVerdict
from actions.errors import NotExecutableError
from actions.executors import ActionExecutor
from actions.status import ProposalStatus, idempotency_key
from decisioning.contracts import ActionType, PolicyOutcome
from tests.integration.test_actions_support import FakeCrm, Loop, make_proposal


def _concurrently(n: int, call: object) -> list[object]:
    barrier = threading.Barrier(n)

    def run(_: int) -> object:
        barrier.wait()
        return call()  # type: ignore[operator]

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_ten_concurrent_executes_make_one_crm_mutation_and_share_the_result(tmp_path: Path) -> None:
    loop = Loop(tmp_path, crm=FakeCrm(delay_seconds=0.2))
    proposal = loop.submit(make_proposal(), PolicyOutcome.automatic)
    results = _concurrently(10, lambda: loop.executor.execute("acme", proposal.proposal_id))
    assert loop.crm.mutations == 1
    assert len({r.model_dump_json() for r in results}) == 1  # type: ignore[attr-defined]
    assert results[0].status is ActionStatus.succeeded  # type: ignore[attr-defined]
    assert len(loop.ledger.entries("acme", kind="action.attempted")) == 1
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 1


def test_ten_concurrent_executors_run_each_ready_proposal_once(tmp_path: Path) -> None:
    loop = Loop(tmp_path, crm=FakeCrm(delay_seconds=0.05))
    for i in range(3):
        loop.submit(make_proposal(f"p{i}"), PolicyOutcome.automatic)
    executors = [ActionExecutor(loop.store, loop.ledger, loop.crm, loop.artifacts, loop.clock)
                 for _ in range(10)]
    counter = iter(range(10))
    lock = threading.Lock()

    def run() -> list[ActionResult]:
        with lock:
            executor = executors[next(counter)]
        return executor.execute_ready()

    _concurrently(10, run)
    assert loop.crm.mutations == 3
    assert loop.store.status_counts("acme")["executed"] == 3
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 3


def test_repeats_return_the_stored_result_without_acting(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.automatic)
    [first] = loop.executor.execute_ready()
    task = loop.crm.get_record("acme", "tasks", first.external_ids["task_id"])
    assert task is not None and task["subject"] == "Call the new champion"
    for _ in range(3):
        assert loop.executor.execute("acme", proposal.proposal_id) == first
    assert loop.crm.mutations == 1
    assert first.idempotency_key == idempotency_key(proposal)
    assert first.idempotency_key.startswith(f"{proposal.proposal_id}:v1:")
    assert first.authorized_by == "policy:p1"


@pytest.mark.parametrize("outcome", [PolicyOutcome.forbidden, PolicyOutcome.needs_approval])
def test_forbidden_and_unapproved_proposals_never_execute(tmp_path: Path, outcome: PolicyOutcome) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), outcome)
    assert loop.executor.execute_ready() == []
    with pytest.raises(NotExecutableError):
        loop.executor.execute("acme", proposal.proposal_id)
    assert loop.crm.mutations == 0
    assert loop.ledger.entries("acme", kind="action.attempted") == []


@pytest.mark.parametrize("verdict", [ReviewVerdict.reject, None])
def test_rejected_expired_and_pending_policy_proposals_never_execute(tmp_path: Path,
                                                                     verdict: ReviewVerdict | None) -> None:
    loop = Loop(tmp_path, ttl=timedelta(hours=1))
    proposal = loop.submit(make_proposal(), PolicyOutcome.needs_approval)
    if verdict is None:
        loop.clock.advance(timedelta(hours=2))
        loop.review.expire_overdue()
    else:
        loop.review.decide("acme", proposal.proposal_id, verdict, "rita", "no", proposal.arguments_digest)
    loop.store.add_proposals([make_proposal("waiting")])
    with pytest.raises(NotExecutableError):
        loop.executor.execute("acme", proposal.proposal_id)
    with pytest.raises(NotExecutableError):
        loop.executor.execute("acme", "waiting")
    assert loop.executor.execute_ready() == [] and loop.crm.mutations == 0


def test_crashed_claim_is_retried_after_its_lease_with_the_same_key(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.automatic)
    # An executor claimed the key and wrote to the CRM, then died before storing the result.
    claim = loop.store.claim_action(proposal.proposal_id, 1, "dead", loop.clock(), timedelta(minutes=5))
    loop.crm.create_task("acme", "acc-1", "Call", "", None, None, idempotency_key=claim.key)
    assert loop.executor.execute_ready() == [], "a live claim is left alone"
    loop.clock.advance(timedelta(minutes=6))
    [result] = loop.executor.execute_ready()
    assert result.status is ActionStatus.succeeded and result.external_ids == {"task_id": "task-1"}
    assert loop.crm.mutations == 1


def test_update_field_is_bound_to_the_record_version_the_reviewer_saw(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.crm.put("acme", "accounts", "acc-1", stage="renewal", owner="ana")
    proposal = loop.submit(make_proposal(action_type=ActionType.crm_update_field, arguments={
        "object": "accounts", "record_id": "acc-1", "field": "stage", "value": "at_risk"}),
        PolicyOutcome.needs_approval)
    loop.review.decide("acme", proposal.proposal_id, ReviewVerdict.approve, "rita", "ok",
                       proposal.arguments_digest, record_version=1)
    loop.crm.records[("acme", "accounts", "acc-1")]["version"] = 2  # someone edited it meanwhile
    [result] = loop.executor.execute_ready()
    assert result.status is ActionStatus.failed and "version" in (result.error or "")
    assert loop.crm.get_record("acme", "accounts", "acc-1")["stage"] == "renewal"  # type: ignore[index]
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.failed  # type: ignore[union-attr]
    assert len(loop.ledger.entries("acme", kind="action.failed")) == 1


def test_update_field_records_before_and_after(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.crm.put("acme", "accounts", "acc-1", stage="renewal")
    loop.submit(make_proposal(action_type=ActionType.crm_update_field, arguments={
        "object": "accounts", "record_id": "acc-1", "field": "stage", "value": "at_risk"}),
        PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    assert result.before["stage"] == "renewal" and result.after["stage"] == "at_risk"
    [entry] = loop.ledger.entries("acme", kind="action.completed")
    assert entry.payload["after"]["stage"] == "at_risk"


def test_notify_owner_lands_once_in_the_outbox(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.crm.put("acme", "accounts", "acc-1", owner="ana@acme.test")
    proposal = loop.submit(make_proposal(action_type=ActionType.notify_owner,
                                         arguments={"message": "Usage dropped 40%"}), PolicyOutcome.automatic)
    loop.executor.execute_ready()
    loop.executor.execute("acme", proposal.proposal_id)
    [message] = loop.store.outbox("acme")
    assert message.recipient == "ana@acme.test" and message.body == "Usage dropped 40%"
    assert loop.store.outbox("globex") == []


def test_meeting_brief_is_written_under_the_tenant(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(action_type=ActionType.draft_meeting_brief, arguments={
        "title": "QBR prep", "sections": [{"heading": "Usage", "body": "Seats fell 40%"}]}),
        PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    path = loop.artifacts / "acme" / "briefs" / f"{proposal.proposal_id}.md"
    assert result.external_ids == {"artifact": "acme/briefs/prop-1.md"}
    text = path.read_text()
    assert text.startswith("# QBR prep") and "## Usage\n\nSeats fell 40%" in text
    assert proposal.rationale in text and "sig_1" in text


def test_a_failing_action_is_recorded_not_swallowed(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(arguments={"body": "no subject"}), PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    assert result.status is ActionStatus.failed and "subject" in (result.error or "")
    assert loop.executor.execute_ready() == [], "a failed action is final, not retried blindly"
    assert len(loop.ledger.entries("acme", kind="action.failed")) == 1


def test_unpublished_result_is_ledgered_by_the_next_run(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(), PolicyOutcome.automatic)
    claim = loop.store.claim_action(proposal.proposal_id, 1, "dead", loop.clock(), timedelta(minutes=5))
    loop.store.complete_action(ActionResult(  # stored, then the process died before the ledger append
        idempotency_key=claim.key, proposal_id=proposal.proposal_id, tenant="acme",
        action_type="crm.create_task", status=ActionStatus.succeeded, executed_at=loop.clock()))
    loop.clock.advance(timedelta(minutes=6))
    loop.executor.execute_ready()
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 1
    loop.executor.execute_ready()
    assert len(loop.ledger.entries("acme", kind="action.completed")) == 1


def test_notify_owner_with_an_explicit_recipient(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(action_type=ActionType.notify_owner, arguments={
        "channel": "owner", "recipient": "bo@acme.test", "subject": "Heads up", "message": "Deal slipped"}),
        PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    [message] = loop.store.outbox("acme")
    assert (message.recipient, message.subject) == ("bo@acme.test", "Heads up")
    assert result.external_ids == {"outbox_message_id": str(message.message_id)}
