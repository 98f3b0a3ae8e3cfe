"""Typed action arguments: the schema a proposal's arguments and every reviewer edit must fit."""

from __future__ import annotations

from typing import Any

import pytest

from decisioning.actions import (
    ACTION_ARGUMENT_MODELS,
    ACTION_RISK_FLOOR,
    ACTION_TAXONOMY,
    ArgumentValidationError,
    validate_arguments,
)
from decisioning.contracts import ActionType, RiskTier
from tests.unit.test_decisioning_fixtures import (
    BRIEF_ARGS,
    ESCALATE_ARGS,
    NOTIFY_ARGS,
    RENEWAL_REVIEW_ARGS,
    TASK_ARGS,
    update_args,
)

VALID: dict[ActionType, dict[str, Any]] = {
    ActionType.crm_create_task: TASK_ARGS,
    ActionType.crm_update_field: update_args("forecast_category"),
    ActionType.notify_owner: NOTIFY_ARGS,
    ActionType.draft_meeting_brief: BRIEF_ARGS,
    ActionType.escalate_exec_sponsor: ESCALATE_ARGS,
    ActionType.schedule_renewal_review: RENEWAL_REVIEW_ARGS,
}


def test_every_action_type_has_a_schema_and_a_risk_floor() -> None:
    assert set(ACTION_ARGUMENT_MODELS) == set(ActionType) == set(ACTION_RISK_FLOOR) == set(VALID)
    assert set(ACTION_TAXONOMY) == set(ActionType)


def test_escalation_and_renewal_review_carry_their_risk_floors() -> None:
    assert ACTION_RISK_FLOOR[ActionType.escalate_exec_sponsor] == RiskTier.L2
    assert ACTION_RISK_FLOOR[ActionType.schedule_renewal_review] == RiskTier.L1
    assert not ACTION_TAXONOMY[ActionType.escalate_exec_sponsor].reversible


@pytest.mark.parametrize("action_type", list(ActionType))
def test_valid_arguments_round_trip(action_type: ActionType) -> None:
    assert validate_arguments(action_type, VALID[action_type]) == VALID[action_type]
    assert validate_arguments(action_type.value, VALID[action_type]) == VALID[action_type]


def test_optional_fields_are_filled_in() -> None:
    normalised = validate_arguments(ActionType.crm_create_task, {"subject": "Call", "due_in_days": 1})
    assert normalised == {"subject": "Call", "body": "", "due_in_days": 1, "owner": None}


BAD_EDITS = [
    (ActionType.crm_create_task, {**TASK_ARGS, "due_in_days": 365}, "due_in_days"),
    (ActionType.crm_create_task, {**TASK_ARGS, "due_in_days": "soon"}, "due_in_days"),
    (ActionType.crm_create_task, {**TASK_ARGS, "subject": ""}, "subject"),
    (ActionType.crm_create_task, {**TASK_ARGS, "assign_to": "ceo@acme.example"}, "assign_to"),
    (ActionType.crm_update_field, {**update_args("forecast_category"), "object": "users"}, "object"),
    (ActionType.crm_update_field, {**update_args("forecast_category"), "record_id": ""}, "record_id"),
    (ActionType.crm_update_field, update_args("owner; drop table"), "field"),
    (ActionType.crm_update_field, {**update_args("x"), "value": {"nested": 1}}, "value"),
    (ActionType.notify_owner, {**NOTIFY_ARGS, "channel": "all-hands"}, "channel"),
    (ActionType.notify_owner, {**NOTIFY_ARGS, "recipient": "bob"}, "recipient"),
    (ActionType.notify_owner, {**NOTIFY_ARGS, "message": ""}, "message"),
    (ActionType.draft_meeting_brief, {**BRIEF_ARGS, "sections": []}, "sections"),
    (ActionType.draft_meeting_brief, {"title": "T", "sections": [{"heading": "H"}]}, "sections.0.body"),
    (ActionType.escalate_exec_sponsor, {**ESCALATE_ARGS, "exec_sponsor": "the CEO, now"}, "exec_sponsor"),
    (ActionType.escalate_exec_sponsor, {**ESCALATE_ARGS, "reason": ""}, "reason"),
    (ActionType.schedule_renewal_review, {**RENEWAL_REVIEW_ARGS, "renewal_date": "next spring"},
     "renewal_date"),
    (ActionType.schedule_renewal_review, {**RENEWAL_REVIEW_ARGS, "attendees": []}, "attendees"),
    (ActionType.schedule_renewal_review, {**RENEWAL_REVIEW_ARGS, "attendees": ["con_8", "con_8"]},
     "attendees"),
    (ActionType.schedule_renewal_review, {**RENEWAL_REVIEW_ARGS, "agenda": ["  "]}, "agenda"),
]


@pytest.mark.parametrize(("action_type", "arguments", "where"), BAD_EDITS)
def test_bad_edits_are_rejected_naming_the_field(action_type: ActionType, arguments: dict[str, Any],
                                                 where: str) -> None:
    with pytest.raises(ArgumentValidationError) as raised:
        validate_arguments(action_type, arguments)
    assert raised.value.action_type == action_type.value
    assert any(problem.startswith(where) for problem in raised.value.problems), raised.value.problems


def test_unknown_action_type_and_non_object_arguments_are_rejected() -> None:
    with pytest.raises(ArgumentValidationError, match="unknown action type"):
        validate_arguments("crm.delete_account", {})
    with pytest.raises(ArgumentValidationError, match="must be an object"):
        validate_arguments(ActionType.notify_owner, ["ana@acme.example"])  # type: ignore[arg-type]
