"""Typed arguments of every action type: what a proposal may ask for and what a reviewer's edit must obey.

Proposals carry their arguments as a plain dict (that is what approvals are bound to by digest); these
models are the schema that dict must satisfy. Validate with :func:`validate_arguments`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decisioning.contracts import ActionType, RiskTier

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
FIELD_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*$"


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


ACTION_ARGUMENT_MODELS: dict[ActionType, type[BaseModel]] = {
    ActionType.crm_create_task: CreateTaskArguments,
    ActionType.crm_update_field: UpdateFieldArguments,
    ActionType.notify_owner: NotifyOwnerArguments,
    ActionType.draft_meeting_brief: MeetingBriefArguments,
}

# The least risk an action type carries, whatever tier a proposal claims: the policy engine evaluates
# max(claimed, floor) so an agent cannot talk a CRM write down to L0.
ACTION_RISK_FLOOR: dict[ActionType, RiskTier] = {
    ActionType.crm_create_task: RiskTier.L1,
    ActionType.crm_update_field: RiskTier.L2,
    ActionType.notify_owner: RiskTier.L0,
    ActionType.draft_meeting_brief: RiskTier.L0,
}


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
