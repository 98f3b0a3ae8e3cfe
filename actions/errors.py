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
