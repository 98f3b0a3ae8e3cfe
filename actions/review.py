"""Human review of proposals that policy sent for approval."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from actions.contracts import ReviewDecision, ReviewVerdict
from actions.errors import (
    ApprovalWindowExpiredError,
    ArgumentsDigestMismatchError,
    NotAwaitingReviewError,
    ProposalNotFoundError,
    RationaleRequiredError,
)
from actions.status import ProposalStatus, StoredProposal
from actions.store import OperationalStore
from ledger.store import Ledger

REVIEW_ACTOR = "revloop.review"


class ProposalReviewService:
    """Approve or reject a proposal version, bound to the arguments (digest) the reviewer saw."""

    def __init__(self, store: OperationalStore, ledger: Ledger, clock: Callable[[], datetime],
                 approval_ttl: timedelta) -> None:
        self.store = store
        self.ledger = ledger
        self.clock = clock
        self.approval_ttl = approval_ttl

    def find(self, tenant: str, proposal_id: str) -> StoredProposal:
        """The proposal if it belongs to ``tenant``; another tenant's proposal looks like a missing one."""
        stored = self.store.get(proposal_id)
        if stored is None or stored.tenant != tenant:
            raise ProposalNotFoundError(f"no proposal {proposal_id} in tenant {tenant}")
        return stored

    def decide(self, tenant: str, proposal_id: str, verdict: ReviewVerdict, reviewer: str,
               rationale: str, arguments_digest: str,
               record_version: int | None = None) -> ReviewDecision:
        if not rationale or not rationale.strip():
            raise RationaleRequiredError("a rationale is required: say why you approve or reject")
        if not reviewer:
            raise ValueError("reviewer identity is required and must come from authentication")
        stored = self.find(tenant, proposal_id)
        proposal = stored.proposal
        if stored.status is not ProposalStatus.needs_approval:
            raise NotAwaitingReviewError(self._not_awaiting(stored), status=stored.status.value)
        if arguments_digest != proposal.arguments_digest:
            raise ArgumentsDigestMismatchError(
                f"proposal {proposal_id} arguments changed since you loaded it (digest "
                f"{arguments_digest[:12]}… is not {proposal.arguments_digest[:12]}…): "
                "reload and review again")
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
            record_version=record_version)
        self.store.record_review(decision)
        self.ledger.append(tenant, "review.decided", reviewer, {
            "decision_id": decision.decision_id, "proposal_id": proposal_id,
            "proposal_version": proposal.version, "verdict": verdict.value,
            "arguments_digest": arguments_digest, "rationale": decision.rationale,
            "record_version": record_version, "decided_at": now.isoformat(),
        })
        return decision

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
