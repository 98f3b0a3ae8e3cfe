"""A proposal's place in the review/execution lifecycle, and the stored view of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from actions.contracts import ActionResult, ReviewDecision
from decisioning.contracts import PolicyDecision, Proposal


class ProposalStatus(StrEnum):
    """pending_policy -> automatic | needs_approval | forbidden;
    needs_approval -> approved | rejected | expired; automatic | approved -> executed | failed.
    A newer version of a proposal supersedes an older one that had not been decided yet."""

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


EXECUTABLE = frozenset({ProposalStatus.automatic, ProposalStatus.approved})
UNDECIDED = frozenset({ProposalStatus.pending_policy, ProposalStatus.needs_approval})


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


def idempotency_key(proposal: Proposal) -> str:
    """One key per proposal version and exact arguments: retries reuse it, edits get a new one."""
    return f"{proposal.proposal_id}:v{proposal.version}:{proposal.arguments_digest[:16]}"
