"""A proposal's place in the review/execution lifecycle, and the stored view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from actions.contracts import ActionResult, ReviewDecision
from decisioning.contracts import PolicyDecision, Proposal


class ProposalStatus(StrEnum):
    """pending_policy -> automatic | needs_approval | forbidden;
    needs_approval -> approved | rejected | expired | info_requested; info_requested -> needs_approval;
    automatic | approved -> executed | failed, or refused when the executor finds its authority
    missing, expired, used or not matching the stored row.
    An edit (or a newer version from the agent) supersedes an older version that had not run yet."""

    pending_policy = "pending_policy"
    automatic = "automatic"
    needs_approval = "needs_approval"
    forbidden = "forbidden"
    approved = "approved"
    rejected = "rejected"
    expired = "expired"
    executed = "executed"
    failed = "failed"
    superseded = "superseded"
    info_requested = "info_requested"
    refused = "refused"
    compensated = "compensated"  # executed, then undone (compensate)


EXECUTABLE = frozenset({ProposalStatus.automatic, ProposalStatus.approved})
UNDECIDED = frozenset({ProposalStatus.pending_policy, ProposalStatus.needs_approval,
                       ProposalStatus.info_requested})
# What a newer version replaces: anything that has not started to run.
SUPERSEDABLE = UNDECIDED | {ProposalStatus.automatic, ProposalStatus.approved}


@dataclass(frozen=True)
class StoredProposal:
    proposal: Proposal
    status: ProposalStatus
    policy: PolicyDecision | None
    review: ReviewDecision | None
    result: ActionResult | None
    awaiting_review_since: datetime | None
    updated_at: datetime

    @property
    def proposal_id(self) -> str:
        return self.proposal.proposal_id

    @property
    def tenant(self) -> str:
        return self.proposal.tenant


@dataclass(frozen=True)
class OutboxMessage:
    """A notification the embedded default 'sends' by storing it (Slack/SES adapters replace this)."""

    message_id: int
    tenant: str
    idempotency_key: str
    proposal_id: str
    channel: str
    recipient: str
    subject: str
    body: str
    created_at: datetime
    delivery: str = "pending"  # pending | sending | sent | failed; "stored" where no sender is configured
    external_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class InfoRequest:
    """A reviewer's question on a proposal version; the agent or the owner answers it."""

    request_id: int
    tenant: str
    proposal_id: str
    proposal_version: int
    reviewer: str
    question: str
    asked_at: datetime
    answer: str | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class ApprovalBinding:
    """What one approval allows: these arguments, this CRM record version, once, until ``expires_at``."""

    decision_id: str
    proposal_id: str
    proposal_version: int
    tenant: str
    arguments_digest: str
    record_version: int | None
    approved_at: datetime
    expires_at: datetime
    used_by: str | None = None
    used_at: datetime | None = None


def idempotency_key(proposal: Proposal) -> str:
    """One key per proposal version and exact arguments: retries reuse it, edits get a new one."""
    return f"{proposal.proposal_id}:v{proposal.version}:{proposal.arguments_digest[:16]}"


def stored_digest(body: str) -> str:
    """The digest of the arguments a stored proposal body really holds (its digest column could be edited)."""
    return Proposal.model_validate_json(body).arguments_digest
