"""Inbox SLA timers and filters, and the edit form's parsing and error placement."""

from __future__ import annotations

from datetime import timedelta

import pytest

from actions.status import ProposalStatus, StoredProposal
from actions.views_edit import argument_fields, field_errors, parse_argument_form
from actions.views_inbox import (
    SlaState,
    UnknownFilterError,
    inbox_rows,
    parse_older_than,
    parse_sla,
    sla_timer,
)
from decisioning.actions import ArgumentValidationError, validate_arguments
from decisioning.contracts import ActionType
from tests.integration.test_actions_support import T0, make_proposal

WINDOW = timedelta(hours=72)


def _stored(proposal_id: str = "p", waited_since: timedelta | None = timedelta(0),
            status: ProposalStatus = ProposalStatus.needs_approval,
            created_hours_ago: int = 0) -> StoredProposal:
    proposal = make_proposal(proposal_id, created_at=T0 - timedelta(hours=created_hours_ago))
    since = T0 - waited_since if waited_since is not None else None
    return StoredProposal(proposal=proposal, status=status, policy=None, review=None, result=None,
                          awaiting_review_since=since, updated_at=T0)


@pytest.mark.parametrize(("waited", "state", "label"), [
    (timedelta(hours=1), SlaState.on_time, "2d 23h left"),
    (timedelta(hours=54), SlaState.due_soon, "18h left"),
    (timedelta(hours=71, minutes=30), SlaState.due_soon, "30m left"),
    (timedelta(hours=72), SlaState.overdue, "overdue by 0m"),
    (timedelta(hours=75), SlaState.overdue, "overdue by 3h"),
])
def test_sla_timer_against_the_approval_window(waited: timedelta, state: SlaState, label: str) -> None:
    timer = sla_timer(_stored(waited_since=waited), T0, WINDOW)
    assert timer is not None and timer.state is state and timer.label == label


def test_only_proposals_awaiting_review_have_a_timer() -> None:
    assert sla_timer(_stored(status=ProposalStatus.approved), T0, WINDOW) is None
    assert sla_timer(_stored(waited_since=None), T0, WINDOW) is None


def test_inbox_rows_filter_by_age_and_sla_most_urgent_first() -> None:
    items = [_stored("fresh", timedelta(hours=1), created_hours_ago=1),
             _stored("late", timedelta(hours=80), created_hours_ago=80),
             _stored("soon", timedelta(hours=60), created_hours_ago=60),
             _stored("done", None, ProposalStatus.executed, created_hours_ago=100)]
    assert [s.proposal_id for s, _ in inbox_rows(items, T0, WINDOW)] == ["late", "soon", "fresh", "done"]
    older = inbox_rows(items, T0, WINDOW, older_than=parse_older_than("2d"))
    assert [s.proposal_id for s, _ in older] == ["late", "soon", "done"]
    assert [s.proposal_id for s, _ in inbox_rows(items, T0, WINDOW, sla=parse_sla("overdue"))] == ["late"]
    with pytest.raises(UnknownFilterError, match="1h, 4h"):
        parse_older_than("3y")
    with pytest.raises(UnknownFilterError, match="overdue"):
        parse_sla("late")


def test_edit_form_shows_each_argument_with_a_fitting_input() -> None:
    proposal = make_proposal()
    fields = {f.name: f for f in argument_fields(proposal.action_type, proposal.arguments)}
    assert (fields["subject"].kind, fields["subject"].value, fields["subject"].required) == (
        "text", "Call the new champion", True)
    assert fields["body"].kind == "textarea" and fields["due_in_days"].kind == "integer"
    assert fields["due_in_days"].value == "3" and fields["owner"].value == "ana@acme.test"
    update = argument_fields(ActionType.crm_update_field, {"object": "accounts", "value": 5})
    by_name = {f.name: f for f in update}
    assert by_name["object"].kind == "select" and "opportunities" in by_name["object"].choices
    assert by_name["value"].hint and "int" in by_name["value"].hint
    brief = {f.name: f for f in argument_fields(ActionType.draft_meeting_brief, {
        "title": "t", "sections": [{"heading": "h", "body": "b"}]})}
    assert brief["sections"].kind == "json" and '"heading": "h"' in brief["sections"].value


def test_edit_form_parses_back_to_typed_arguments() -> None:
    original = make_proposal().arguments
    form = {"arg.subject": " Call Ana ", "arg.body": "", "arg.due_in_days": "5", "arg.owner": ""}
    arguments, errors = parse_argument_form(ActionType.crm_create_task, form, original)
    assert errors == {}
    assert arguments == {"subject": "Call Ana", "body": "", "due_in_days": 5, "owner": None}
    assert validate_arguments(ActionType.crm_create_task, arguments)["due_in_days"] == 5
    _, errors = parse_argument_form(ActionType.crm_create_task, {**form, "arg.due_in_days": "soon"}, original)
    assert errors == {"due_in_days": "enter a whole number"}


def test_multi_type_value_keeps_the_type_of_the_value_it_replaces() -> None:
    form = {"arg.object": "accounts", "arg.record_id": "a1", "arg.field": "seats", "arg.value": "12"}
    as_int, _ = parse_argument_form(ActionType.crm_update_field, form, {"value": 10})
    as_text, _ = parse_argument_form(ActionType.crm_update_field, form, {"value": "ten"})
    assert as_int["value"] == 12 and as_text["value"] == "12"


def test_validation_problems_land_next_to_their_field() -> None:
    with pytest.raises(ArgumentValidationError) as raised:
        validate_arguments(ActionType.crm_create_task, {"subject": "", "due_in_days": 400, "colour": "red"})
    errors = field_errors(raised.value.problems)
    assert "at least 1 character" in errors["subject"]
    assert "less than or equal to 90" in errors["due_in_days"]
    assert "Extra inputs" in errors["colour"]
    submitted = {"arg.subject": "", "arg.due_in_days": "400"}
    fields = {f.name: f for f in argument_fields(ActionType.crm_create_task, make_proposal().arguments,
                                                 submitted, errors)}
    assert fields["due_in_days"].value == "400" and fields["due_in_days"].error == errors["due_in_days"]
    assert fields["owner"].error is None

