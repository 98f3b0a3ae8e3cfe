"""Typed arguments of every action type: what a proposal may ask for and what a reviewer's edit must obey.

Proposals carry their arguments as a plain dict (that is what approvals are bound to by digest); these
models are the schema that dict must satisfy. Validate with :func:`validate_arguments`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from decisioning.contracts import ActionType, RiskTier

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
FIELD_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*$"
RECORD_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CreateTaskArguments(_Arguments):
    """crm.create_task: a task on the proposal's account, assigned to its owner."""

    subject: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=5000)
    due_in_days: int = Field(ge=0, le=90)
    owner: str | None = Field(default=None, min_length=1, max_length=200)


class UpdateFieldArguments(_Arguments):
    """crm.update_field: set one field of one CRM record."""

    object: Literal["accounts", "contacts", "opportunities"]
    record_id: str = Field(min_length=1, max_length=200)
    field: str = Field(min_length=1, max_length=100, pattern=FIELD_NAME_PATTERN)
    value: str | int | float | bool | None


class NotifyOwnerArguments(_Arguments):
    """notify.owner: a message to the account owner (Slack/SES in production, the outbox locally)."""

    channel: Literal["owner"] = "owner"
    recipient: str = Field(max_length=320, pattern=EMAIL_PATTERN)
    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=5000)


class BriefSection(_Arguments):
    heading: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=5000)


class MeetingBriefArguments(_Arguments):
    """draft.meeting_brief: a document for the account team; changes nothing in the CRM."""

    title: str = Field(min_length=1, max_length=200)
    sections: list[BriefSection] = Field(min_length=1, max_length=20)


def _person_reference(value: str) -> str:
    """A contact id (e.g. ``con_8``, a Salesforce 003… id) or an email address; nothing else."""
    if re.match(EMAIL_PATTERN, value) or re.match(RECORD_ID_PATTERN, value):
        return value
    raise ValueError("must be a contact id (letters, digits, _ . : -) or an email address")


class EscalateExecSponsorArguments(_Arguments):
    """escalate.exec_sponsor: a message to the account's executive sponsor asking them to step in."""

    subject: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=5000)
    exec_sponsor: str = Field(min_length=1, max_length=320)
    reason: str = Field(min_length=1, max_length=1000)

    @field_validator("exec_sponsor")
    @classmethod
    def _sponsor(cls, value: str) -> str:
        return _person_reference(value)


class ScheduleRenewalReviewArguments(_Arguments):
    """schedule.renewal_review: a review meeting on the account's renewal, booked in the CRM."""

    subject: str = Field(min_length=1, max_length=200)
    renewal_date: date
    attendees: list[str] = Field(min_length=1, max_length=20)
    agenda: list[str] = Field(min_length=1, max_length=20)

    @field_validator("attendees")
    @classmethod
    def _attendees(cls, value: list[str]) -> list[str]:
        people = [_person_reference(v.strip()) for v in value]
        if len(set(people)) != len(people):
            raise ValueError("lists an attendee twice")
        return people

    @field_validator("agenda")
    @classmethod
    def _agenda(cls, value: list[str]) -> list[str]:
        items = [v.strip() for v in value]
        if any(not item or len(item) > 500 for item in items):
            raise ValueError("each agenda item must be 1..500 characters")
        return items


# Bump when an action type, an argument, a risk floor or an executor changes (decisioning/README.md).
TAXONOMY_VERSION = "2.0"


@dataclass(frozen=True)
class ActionSpec:
    """One entry of the decision taxonomy: what the action does, who runs it, can it be undone."""

    action_type: ActionType
    arguments: type[BaseModel]
    risk_floor: RiskTier
    executor: Literal["crm", "notify", "briefs"]
    reversible: bool
    summary: str


ACTION_TAXONOMY: dict[ActionType, ActionSpec] = {spec.action_type: spec for spec in (
    ActionSpec(ActionType.crm_create_task, CreateTaskArguments, RiskTier.L1, "crm", True,
               "a task on the account for its owner"),
    ActionSpec(ActionType.crm_update_field, UpdateFieldArguments, RiskTier.L2, "crm", True,
               "one field of one CRM record set (the before value is kept)"),
    ActionSpec(ActionType.notify_owner, NotifyOwnerArguments, RiskTier.L0, "notify", False,
               "a message to the account owner"),
    ActionSpec(ActionType.draft_meeting_brief, MeetingBriefArguments, RiskTier.L0, "briefs", True,
               "a brief document for the account team; nothing leaves the system"),
    ActionSpec(ActionType.escalate_exec_sponsor, EscalateExecSponsorArguments, RiskTier.L2, "notify", False,
               "a message asking the account's executive sponsor to step in"),
    ActionSpec(ActionType.schedule_renewal_review, ScheduleRenewalReviewArguments, RiskTier.L1, "crm", True,
               "a renewal review meeting booked on the account in the CRM"),
)}


ACTION_ARGUMENT_MODELS: dict[ActionType, type[BaseModel]] = {
    kind: spec.arguments for kind, spec in ACTION_TAXONOMY.items()}
# The least risk an action type carries, whatever tier a proposal claims: the policy engine evaluates
# max(claimed, floor) so an agent cannot talk a CRM write down to L0.
ACTION_RISK_FLOOR: dict[ActionType, RiskTier] = {
    kind: spec.risk_floor for kind, spec in ACTION_TAXONOMY.items()}


class ArgumentValidationError(ValueError):
    """Arguments do not fit their action type's schema; ``problems`` lists each one."""

    def __init__(self, action_type: str, problems: list[str]) -> None:
        self.action_type = action_type
        self.problems = problems
        super().__init__(f"invalid arguments for {action_type}: " + "; ".join(problems))


def validate_arguments(action_type: ActionType | str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Return ``arguments`` normalised to their action type's schema, or raise ArgumentValidationError."""
    try:
        kind = ActionType(action_type)
    except ValueError:
        known = ", ".join(t.value for t in ActionType)
        raise ArgumentValidationError(str(action_type), [f"unknown action type (known: {known})"]) from None
    if not isinstance(arguments, dict):
        got = type(arguments).__name__
        raise ArgumentValidationError(kind.value, [f"arguments must be an object, got {got}"])
    try:
        model = ACTION_ARGUMENT_MODELS[kind].model_validate(arguments)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                    for err in exc.errors()]
        raise ArgumentValidationError(kind.value, problems) from None
    return model.model_dump(mode="json")
