"""Typed refusals of the actions layer. Each carries a stable code and the HTTP status the API answers."""

from __future__ import annotations


class ActionsError(Exception):
    code = "actions_error"
    http_status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ProposalNotFoundError(ActionsError):
    """Unknown id, or a proposal of a tenant the caller may not see (indistinguishable on purpose)."""

    code = "proposal_not_found"
    http_status = 404


class NotAwaitingReviewError(ActionsError):
    code = "not_awaiting_review"
    http_status = 409

    def __init__(self, message: str, status: str) -> None:
        super().__init__(message)
        self.status = status


class ArgumentsDigestMismatchError(ActionsError):
    code = "arguments_digest_mismatch"
    http_status = 409


class ApprovalWindowExpiredError(ActionsError):
    code = "approval_window_expired"
    http_status = 409  # never 410: the proposal is gone from review, not the endpoint


class RationaleRequiredError(ActionsError):
    code = "rationale_required"
    http_status = 422


class NotExecutableError(ActionsError):
    """Only automatic or approved proposals run; everything else fails closed."""

    code = "not_executable"
    http_status = 409


class PolicyAlreadyRecordedError(ActionsError):
    code = "policy_already_recorded"
    http_status = 409


class ActionInFlightError(ActionsError):
    """Another executor holds the claim on this idempotency key and has not finished yet."""

    code = "action_in_flight"
    http_status = 409


class TenantNotFoundError(ActionsError):
    """A tenant the caller may not review (or that does not exist): the same answer for both."""

    code = "tenant_not_found"
    http_status = 404


class ApprovalExpiredError(NotExecutableError):
    """The approval was not used within its validity; the proposal must be reviewed again."""

    code = "approval_expired"


class ApprovalAlreadyUsedError(NotExecutableError):
    """An approval is single-use: it already authorised one execution."""

    code = "approval_already_used"


class KillSwitchOnError(NotExecutableError):
    """A stop switch covers the proposal's tenant or action type: it is refused, not held."""

    code = "kill_switch_on"


class ExecutionPausedError(ActionsError):
    """A pause switch covers an automatic proposal: it waits, unchanged, until the switch is lifted or a
    human takes it over. Not a refusal."""

    http_status = 409
    code = "execution_paused"


class BindingMismatchError(NotExecutableError):
    """The stored proposal no longer matches what policy or the reviewer saw (edited, replayed, tampered)."""

    code = "binding_mismatch"


class RecordVersionRequiredError(ActionsError):
    """Approving a CRM field update needs the record version the reviewer was shown."""

    code = "record_version_required"
    http_status = 422


class InvalidArgumentsError(ActionsError):
    """Edited arguments do not fit the action type's schema; ``problems`` lists each one."""

    code = "invalid_arguments"
    http_status = 422

    def __init__(self, message: str, problems: list[str]) -> None:
        super().__init__(message)
        self.problems = problems


class IdempotencyConflictError(ActionsError):
    """An idempotency key was reused for a different request: use a new key for a new write."""

    code = "idempotency_conflict"
    http_status = 422


class NotCompensableError(ActionsError):
    """The action cannot be undone (never ran, failed, or its type has no inverse)."""

    code = "not_compensable"
    http_status = 409
