"""Notifications (Slack webhook over httpx, SES through moto), the escalation and renewal-review
executors, and compensation of finished actions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from actions.contracts import ActionStatus
from actions.errors import NotCompensableError
from actions.executors import ActionExecutor
from actions.notify_ses import SesEmailNotifier
from actions.notify_slack import SlackWebhookNotifier
from actions.status import ProposalStatus
from connectors.retry import RetryPolicy
from decisioning.contracts import ActionType, PolicyOutcome
from tests.integration.test_actions_support import FakeCrm, Loop, make_proposal

HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"
NOTIFY = {"channel": "owner", "recipient": "ana@acme.test", "subject": "Usage <dropped>",
          "message": "Seats fell 40% & the champion left"}


class SlackHook:
    def __init__(self, answers: list[int] | None = None) -> None:
        self.answers = answers or []
        self.posts: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert str(request.url) == HOOK
        if self.answers:
            status = self.answers.pop(0)
            return httpx.Response(status, text="rate_limited", headers={"Retry-After": "1"})
        self.posts.append(json.loads(request.content))
        return httpx.Response(200, text="ok")


def _slack(hook: SlackHook) -> SlackWebhookNotifier:
    return SlackWebhookNotifier(HOOK, client=httpx.Client(transport=httpx.MockTransport(hook)),
                                retry=RetryPolicy(max_attempts=3), sleep=lambda _: None)


@pytest.fixture
def ses() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("sesv2", region_name="eu-west-1")
        client.create_email_identity(EmailIdentity="revloop@acme.test")
        yield client


def _executor(loop: Loop, **kwargs: Any) -> ActionExecutor:
    return ActionExecutor(loop.store, loop.ledger, loop.crm, loop.artifacts, loop.clock, **kwargs)


def test_slack_message_is_posted_once_and_recorded_in_the_outbox(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    hook = SlackHook(answers=[429, 503])
    proposal = loop.submit(make_proposal(action_type=ActionType.notify_owner, arguments=NOTIFY),
                           PolicyOutcome.automatic)
    executor = _executor(loop, notifiers=[_slack(hook)])
    [result] = executor.execute_ready()
    assert executor.execute("acme", proposal.proposal_id) == result
    assert len(hook.posts) == 1, "retried through 429 and 503, then posted once"
    assert hook.posts[0]["text"] == ("*Usage &lt;dropped&gt;*\nSeats fell 40% &amp; the champion left\n"
                                     "_for ana@acme.test_")
    [message] = loop.store.outbox("acme")
    assert (message.channel, message.delivery) == ("slack", "sent")
    assert result.external_ids == {"slack_outbox_id": str(message.message_id)}


def test_slack_refusal_fails_the_action_and_is_kept_on_the_outbox_row(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    hook = SlackHook(answers=[404])
    loop.submit(make_proposal(action_type=ActionType.notify_owner, arguments=NOTIFY), PolicyOutcome.automatic)
    [result] = _executor(loop, notifiers=[_slack(hook)]).execute_ready()
    assert result.status is ActionStatus.failed and "404" in (result.error or "")
    [message] = loop.store.outbox("acme")
    assert message.delivery == "failed" and "404" in (message.error or "")
    assert hook.posts == []


def test_email_goes_through_ses_with_its_message_id_kept(tmp_path: Path, ses: Any) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(action_type=ActionType.notify_owner, arguments=NOTIFY), PolicyOutcome.automatic)
    executor = _executor(loop, notifiers=[SesEmailNotifier(ses, "revloop@acme.test")])
    [result] = executor.execute_ready()
    [message] = loop.store.outbox("acme", channel="email")
    assert message.delivery == "sent" and message.external_id
    assert result.external_ids["email_message_id"] == message.external_id
    assert executor.execute_ready() == []


def test_ses_refuses_an_unverified_sender(ses: Any) -> None:
    with pytest.raises(ValueError, match="not an email address"):
        SesEmailNotifier(ses, "revloop")


def test_escalation_emails_the_sponsor_from_the_crm_and_records_a_task(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.crm.put("acme", "contacts", "con_8", email="ceo@customer.test")
    proposal = loop.submit(make_proposal(action_type=ActionType("escalate.exec_sponsor"), arguments={
        "subject": "Renewal at risk", "message": "Could you join a call this week?",
        "exec_sponsor": "con_8", "reason": "Usage fell 40% after the champion left"}),
        PolicyOutcome.automatic)
    [result] = _executor(loop).execute_ready()
    assert result.status is ActionStatus.succeeded, result.error
    [message] = loop.store.outbox("acme")
    assert message.recipient == "ceo@customer.test" and message.subject == "Renewal at risk"
    task = loop.crm.get_record("acme", "tasks", result.external_ids["task_id"])
    assert task is not None and task["subject"] == "Exec sponsor escalation: Renewal at risk"
    assert loop.crm.by_key.keys() == {f"{result.idempotency_key}:task"}
    assert proposal.proposal_id == result.proposal_id


def test_renewal_review_is_booked_a_lead_time_before_the_renewal(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    loop.submit(make_proposal(action_type=ActionType("schedule.renewal_review"), arguments={
        "subject": "Renewal review: Acme", "renewal_date": "2025-06-30",
        "attendees": ["ana@acme.test", "con_8"], "agenda": ["Usage trend", "Pricing"]}),
        PolicyOutcome.automatic)
    [result] = _executor(loop).execute_ready()
    assert result.status is ActionStatus.succeeded, result.error
    assert result.after["renewal_date"] == "2025-06-30"
    assert result.after["attendees"] == ["ana@acme.test", "con_8"]
    assert result.after["due_date"] == "2025-05-31", "30 days before the renewal"
    assert loop.crm.mutations == 1


class ClosingCrm(FakeCrm):
    def close_task(self, tenant: str, task_id: str, idempotency_key: str) -> Any:
        record = self.records[(tenant, "tasks", task_id)]
        before = dict(record)
        record["status"] = "closed"
        self.mutations += 1
        return type("Closed", (), {"external_id": task_id, "created": False, "before": before,
                                   "after": dict(record)})()


def _stage_updated(tmp_path: Path) -> tuple[Loop, Any]:
    """An account whose stage an automatic proposal moved from renewal to at_risk."""
    loop = Loop(tmp_path)
    loop.crm.put("acme", "accounts", "acc-1", stage="renewal")
    proposal = loop.submit(make_proposal(action_type=ActionType.crm_update_field, arguments={
        "object": "accounts", "record_id": "acc-1", "field": "stage", "value": "at_risk"}),
        PolicyOutcome.automatic)
    loop.executor.execute_ready()
    return loop, proposal


def test_update_field_is_compensated_by_restoring_the_before_value_once(tmp_path: Path) -> None:
    loop, proposal = _stage_updated(tmp_path)
    undo = loop.executor.compensate("acme", proposal.proposal_id)
    assert undo.status is ActionStatus.succeeded
    assert loop.crm.get_record("acme", "accounts", "acc-1")["stage"] == "renewal"  # type: ignore[index]
    assert loop.executor.compensate("acme", proposal.proposal_id) == undo
    assert loop.crm.mutations == 2
    assert loop.store.get(proposal.proposal_id).status is ProposalStatus.compensated  # type: ignore[union-attr]
    assert len(loop.ledger.entries("acme", kind="action.compensated")) == 1
    assert len(loop.ledger.entries("acme", kind="action.compensation_attempted")) == 1


def test_compensation_never_clobbers_a_later_edit(tmp_path: Path) -> None:
    loop, proposal = _stage_updated(tmp_path)
    loop.crm.records[("acme", "accounts", "acc-1")].update(stage="churned", version=3)
    undo = loop.executor.compensate("acme", proposal.proposal_id)
    assert undo.status is ActionStatus.failed and "version" in (undo.error or "")
    assert loop.crm.get_record("acme", "accounts", "acc-1")["stage"] == "churned"  # type: ignore[index]
    assert len(loop.ledger.entries("acme", kind="action.compensation_failed")) == 1


def test_tasks_are_compensated_by_closing_them_where_the_crm_can(tmp_path: Path) -> None:
    loop = Loop(tmp_path, crm=ClosingCrm())
    proposal = loop.submit(make_proposal(), PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    undo = loop.executor.compensate("acme", proposal.proposal_id)
    assert undo.after["status"] == "closed" and undo.external_ids == result.external_ids
    (tmp_path / "plain").mkdir()
    plain = Loop(tmp_path / "plain")
    other = plain.submit(make_proposal(), PolicyOutcome.automatic)
    plain.executor.execute_ready()
    with pytest.raises(NotCompensableError, match="cannot close tasks"):
        plain.executor.compensate("acme", other.proposal_id)


def test_messages_and_unexecuted_proposals_cannot_be_compensated(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    sent = loop.submit(make_proposal("sent", action_type=ActionType.notify_owner, arguments=NOTIFY),
                       PolicyOutcome.automatic)
    waiting = loop.submit(make_proposal("waiting"), PolicyOutcome.needs_approval)
    loop.executor.execute_ready()
    with pytest.raises(NotCompensableError, match="cannot be recalled"):
        loop.executor.compensate("acme", sent.proposal_id)
    with pytest.raises(NotCompensableError, match="nothing ran"):
        loop.executor.compensate("acme", waiting.proposal_id)


def test_a_brief_draft_is_compensated_by_removing_it(tmp_path: Path) -> None:
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(action_type=ActionType.draft_meeting_brief, arguments={
        "title": "QBR prep", "sections": [{"heading": "Usage", "body": "Seats fell"}]}),
        PolicyOutcome.automatic)
    [result] = loop.executor.execute_ready()
    path = loop.artifacts / result.external_ids["artifact"]
    assert path.exists()
    loop.executor.compensate("acme", proposal.proposal_id)
    assert not path.exists()
