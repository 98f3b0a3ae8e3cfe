"""Human review of proposals that policy sent for approval."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from actions.contracts import ReviewDecision, ReviewVerdict
from actions.errors import (
    ApprovalWindowExpiredError,
    ArgumentsDigestMismatchError,
    InvalidArgumentsError,
    NotAwaitingReviewError,
    ProposalNotFoundError,
    RationaleRequiredError,
    RecordVersionRequiredError,
)
from actions.status import InfoRequest, ProposalStatus, StoredProposal
from actions.store import OperationalStore
from actions.store_review import EDITABLE
from decisioning.actions import ArgumentValidationError, validate_arguments
from decisioning.contracts import ActionType, Proposal
from ledger.store import Ledger

REVIEW_ACTOR = "revloop.review"


class ProposalReviewService:
    """Approve, reject, edit or question a proposal version, bound to the arguments (digest) and CRM
    record version the reviewer saw.

    ``approval_ttl`` is how long a proposal may wait for review; ``approval_validity`` how long an
    approval may wait for its (single) execution before it expires unused."""

    def __init__(self, store: OperationalStore, ledger: Ledger, clock: Callable[[], datetime],
                 approval_ttl: timedelta, approval_validity: timedelta = timedelta(hours=24)) -> None:
        if approval_validity <= timedelta(0):
            raise ValueError(f"approval_validity must be positive, got {approval_validity}")
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.approval_ttl = approval_ttl
        self.approval_validity = approval_validity

    def find(self, tenant: str, proposal_id: str) -> StoredProposal:
        """The proposal if it belongs to ``tenant``; another tenant's proposal looks like a missing one."""
        stored = self.store.get(proposal_id)
        if stored is None or stored.tenant != tenant:
            raise ProposalNotFoundError(f"no proposal {proposal_id} in tenant {tenant}")
        return stored

    def decide(self, tenant: str, proposal_id: str, verdict: ReviewVerdict, reviewer: str,
               rationale: str, arguments_digest: str,
               record_version: int | None = None) -> ReviewDecision:
        _require_text(rationale, "a rationale is required: say why you approve or reject")
        _require_reviewer(reviewer)
        stored = self.find(tenant, proposal_id)
        proposal = stored.proposal
        if stored.status is not ProposalStatus.needs_approval:
            raise NotAwaitingReviewError(self._not_awaiting(stored), status=stored.status.value)
        if arguments_digest != proposal.arguments_digest:
            raise ArgumentsDigestMismatchError(
                f"proposal {proposal_id} arguments changed since you loaded it (digest "
                f"{arguments_digest[:12]}… is not {proposal.arguments_digest[:12]}…): "
                "reload and review again")
        approving = verdict is ReviewVerdict.approve
        if approving and proposal.action_type is ActionType.crm_update_field and record_version is None:
            raise RecordVersionRequiredError(
                f"approving {proposal_id} changes a CRM record: send the record version you were shown "
                "(record_version), so the write is refused if the record changed since")
        now = self.clock()
        since = stored.awaiting_review_since
        if since is not None and now > since + self.approval_ttl:
            if self.store.mark_expired(proposal_id, proposal.version, now):
                self._ledger_expired(tenant, proposal_id, proposal.version, since)
            raise ApprovalWindowExpiredError(
                f"proposal {proposal_id} waited for review since {since.isoformat()}, longer than "
                f"{self.approval_ttl}; it expired and can no longer be decided")
        decision = ReviewDecision(
            decision_id="rev_" + uuid.uuid4().hex, proposal_id=proposal_id,
            proposal_version=proposal.version, tenant=tenant, verdict=verdict, reviewer=reviewer,
            rationale=rationale.strip(), arguments_digest=arguments_digest, decided_at=now,
            record_version=record_version, expires_at=now + self.approval_validity if approving else None)
        self.store.record_review(decision)
        self.ledger.append(tenant, "review.decided", reviewer, {
            "decision_id": decision.decision_id, "proposal_id": proposal_id,
            "proposal_version": proposal.version, "verdict": verdict.value,
            "arguments_digest": arguments_digest, "rationale": decision.rationale,
            "record_version": record_version, "decided_at": now.isoformat(),
            "expires_at": decision.expires_at.isoformat() if decision.expires_at else None,
            "trace_id": proposal.trace_id,
        })
        return decision

    def edit(self, tenant: str, proposal_id: str, reviewer: str, arguments: dict[str, Any],
             rationale: str) -> Proposal:
        """A new version with the reviewer's arguments (validated against the action's schema).

        It goes back through policy; the version it replaces is superseded and can no longer run."""
        _require_text(rationale, "a rationale is required: say why you change the arguments")
        _require_reviewer(reviewer)
        stored = self.find(tenant, proposal_id)
        if stored.status not in EDITABLE:
            raise NotAwaitingReviewError(
                f"proposal {proposal_id} is {stored.status.value}: only proposals awaiting policy or review "
                "can be edited; nothing was changed", status=stored.status.value)
        previous = stored.proposal
        try:
            normalised = validate_arguments(previous.action_type, arguments)
        except ArgumentValidationError as exc:
            raise InvalidArgumentsError(str(exc), exc.problems) from None
        now = self.clock()
        edited = previous.model_copy(update={"version": previous.version + 1, "arguments": normalised,
                                             "created_at": now})
        if edited.arguments_digest == previous.arguments_digest:
            raise InvalidArgumentsError(f"the edit leaves proposal {proposal_id}'s arguments as they are: "
                                        "change something, or approve it as it is", [])
        self.store.add_version(tenant, edited, now)
        self.ledger.append(tenant, "proposal.edited", reviewer, {
            "proposal_id": proposal_id, "from_version": previous.version, "version": edited.version,
            "previous_digest": previous.arguments_digest, "arguments_digest": edited.arguments_digest,
            "arguments": normalised, "rationale": rationale.strip(), "edited_at": now.isoformat(),
            "trace_id": edited.trace_id,
        })
        return edited

    def request_info(self, tenant: str, proposal_id: str, reviewer: str, question: str) -> None:
        """Ask the agent or the account owner a question; the proposal waits (info_requested)."""
        _require_text(question, "a question is required: say what you need to know to decide")
        _require_reviewer(reviewer)
        self.find(tenant, proposal_id)
        request = self.store.request_info(tenant, proposal_id, reviewer, question.strip(), self.clock())
        self.ledger.append(tenant, "review.info_requested", reviewer, {
            "proposal_id": proposal_id, "proposal_version": request.proposal_version,
            "request_id": request.request_id, "question": request.question,
            "asked_at": request.asked_at.isoformat(),
        })

    def answer_info(self, tenant: str, proposal_id: str, responder: str, answer: str) -> list[InfoRequest]:
        """Answer the open questions (agent or owner); the proposal returns to review, window restarted."""
        _require_text(answer, "an answer is required")
        answered = self.store.answer_info(tenant, proposal_id, responder, answer.strip(), self.clock())
        for request in answered:
            self.ledger.append(tenant, "review.info_answered", responder, {
                "proposal_id": proposal_id, "proposal_version": request.proposal_version,
                "request_id": request.request_id, "answer": request.answer,
                "answered_at": request.answered_at.isoformat() if request.answered_at else None,
            })
        return answered

    def expire_overdue(self) -> int:
        """Expire every proposal that waited longer than the approval window; each one is ledgered."""
        now = self.clock()
        expired = self.store.expire_overdue_proposals(now, self.approval_ttl)
        for proposal in expired:
            self._ledger_expired(proposal.tenant, proposal.proposal_id, proposal.version, None)
        return len(expired)

    def _ledger_expired(self, tenant: str, proposal_id: str, version: int,
                        since: datetime | None) -> None:
        self.ledger.append(tenant, "proposal.expired", REVIEW_ACTOR, {
            "proposal_id": proposal_id, "proposal_version": version,
            "approval_ttl_seconds": self.approval_ttl.total_seconds(),
            "awaiting_review_since": since.isoformat() if since else None,
        })

    @staticmethod
    def _not_awaiting(stored: StoredProposal) -> str:
        if stored.review is not None:
            return (f"proposal {stored.proposal_id} was already {stored.status.value} by "
                    f"{stored.review.reviewer}; nothing was changed")
        return (f"proposal {stored.proposal_id} is {stored.status.value}, not awaiting review; "
                "nothing was changed")


def _require_text(value: str, message: str) -> None:
    if not value or not value.strip():
        raise RationaleRequiredError(message)


def _require_reviewer(reviewer: str) -> None:
    if not reviewer:
        raise ValueError("reviewer identity is required and must come from authentication")
