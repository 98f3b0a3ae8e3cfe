"""Review-side records of the operational store: edited versions, questions to the agent, approvals.

A mixin of OperationalStore (shares its engine). Each change locks the proposal (see postgres_dialect)
and re-reads its status in the same transaction, so a racing reviewer or executor is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from actions.budget_release import release_reservations
from actions.errors import NotAwaitingReviewError, ProposalNotFoundError
from actions.postgres_dialect import lock_key, proposal_lock
from actions.status import ApprovalBinding, InfoRequest, ProposalStatus
from actions.tables import approvals, info_requests, parse_ts, proposals, ts
from decisioning.contracts import Proposal

EDITABLE = frozenset({ProposalStatus.pending_policy, ProposalStatus.needs_approval,
                      ProposalStatus.info_requested})


class ReviewRecords:
    engine: Engine

    def add_version(self, tenant: str, edited: Proposal, now: datetime) -> Proposal:
        """Store ``edited`` as the next version: the previous one must be the newest and still editable.

        The previous version becomes superseded and the new one awaits policy again."""
        at = ts(now)
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(edited.proposal_id))
            current = _newest(conn, tenant, edited.proposal_id)
            if current.version != edited.version - 1:
                raise NotAwaitingReviewError(
                    f"proposal {edited.proposal_id} is at version {current.version}, not "
                    f"{edited.version - 1}: reload it and edit the newest version", status=current.status)
            if current.status not in EDITABLE:
                raise NotAwaitingReviewError(
                    f"proposal {edited.proposal_id} is {current.status}: only proposals awaiting policy or "
                    "review can be edited; nothing was changed", status=current.status)
            conn.execute(update(proposals).where(
                proposals.c.proposal_id == edited.proposal_id, proposals.c.version == current.version,
            ).values(status=ProposalStatus.superseded.value, updated_at=at))
            release_reservations(conn, [(edited.proposal_id, current.version)])
            insert_proposal(conn, edited, ProposalStatus.pending_policy, at)
        return edited

    def request_info(self, tenant: str, proposal_id: str, reviewer: str, question: str,
                     now: datetime) -> InfoRequest:
        at = ts(now)
        with self.engine.begin() as conn:
            current = _newest_in(conn, tenant, proposal_id, ProposalStatus.needs_approval,
                                 "not awaiting review; ask about a proposal that awaits your decision")
            request_id = conn.execute(insert(info_requests).values(
                tenant=tenant, proposal_id=proposal_id, proposal_version=current.version,
                reviewer=reviewer, question=question, asked_at=at).returning(info_requests.c.id)).scalar_one()
            conn.execute(update(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == current.version,
            ).values(status=ProposalStatus.info_requested.value, updated_at=at))
        return InfoRequest(request_id, tenant, proposal_id, current.version, reviewer, question, now)

    def answer_info(self, tenant: str, proposal_id: str, answered_by: str, answer: str,
                    now: datetime) -> list[InfoRequest]:
        """Answer the open questions on the newest version; it goes back to review with a fresh window."""
        at = ts(now)
        with self.engine.begin() as conn:
            current = _newest_in(conn, tenant, proposal_id, ProposalStatus.info_requested,
                                 "no question is open on it")
            conn.execute(update(info_requests).where(
                info_requests.c.proposal_id == proposal_id,
                info_requests.c.proposal_version == current.version, info_requests.c.answered_at.is_(None),
            ).values(answer=answer, answered_by=answered_by, answered_at=at))
            conn.execute(update(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == current.version,
            ).values(status=ProposalStatus.needs_approval.value, updated_at=at, awaiting_review_since=at))
            rows = conn.execute(select(info_requests).where(
                info_requests.c.proposal_id == proposal_id,
                info_requests.c.proposal_version == current.version, info_requests.c.answered_at == at)).all()
        return [_info(row) for row in rows]

    def info_requests(self, tenant: str, proposal_id: str | None = None,
                      open_only: bool = False) -> list[InfoRequest]:
        """Questions reviewers asked (oldest first); ``open_only`` keeps the unanswered ones."""
        query = select(info_requests).where(info_requests.c.tenant == tenant)
        if proposal_id is not None:
            query = query.where(info_requests.c.proposal_id == proposal_id)
        if open_only:
            query = query.where(info_requests.c.answered_at.is_(None))
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(query.order_by(info_requests.c.id))]

    def approval(self, proposal_id: str, version: int) -> ApprovalBinding | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(approvals).where(
                approvals.c.proposal_id == proposal_id, approvals.c.proposal_version == version)).first()
        return binding(row) if row is not None else None


def insert_proposal(conn: Connection, proposal: Proposal, status: ProposalStatus, at: str) -> None:
    conn.execute(insert(proposals).values(
        proposal_id=proposal.proposal_id, version=proposal.version, tenant=proposal.tenant,
        account_id=proposal.account_id, action_type=proposal.action_type.value,
        risk_tier=proposal.risk_tier.value, confidence=proposal.confidence,
        status=status.value, arguments_digest=proposal.arguments_digest,
        body=proposal.model_dump_json(), created_at=ts(proposal.created_at), updated_at=at))


def binding(row: Any) -> ApprovalBinding:
    return ApprovalBinding(
        decision_id=row.decision_id, proposal_id=row.proposal_id, proposal_version=row.proposal_version,
        tenant=row.tenant, arguments_digest=row.arguments_digest, record_version=row.record_version,
        approved_at=parse_ts(row.approved_at), expires_at=parse_ts(row.expires_at), used_by=row.used_by,
        used_at=parse_ts(row.used_at) if row.used_at else None)


def _newest(conn: Connection, tenant: str, proposal_id: str) -> Any:
    row = conn.execute(select(proposals).where(proposals.c.proposal_id == proposal_id)
                       .order_by(proposals.c.version.desc()).limit(1)).first()
    if row is None or row.tenant != tenant:
        raise ProposalNotFoundError(f"no proposal {proposal_id} in tenant {tenant}")
    return row


def _newest_in(conn: Connection, tenant: str, proposal_id: str, status: ProposalStatus,
               refusal: str) -> Any:
    """Lock the proposal and return its newest version, which must be in ``status``."""
    lock_key(conn, proposal_lock(proposal_id))
    current = _newest(conn, tenant, proposal_id)
    if current.status != status:
        raise NotAwaitingReviewError(f"proposal {proposal_id} is {current.status}: {refusal}",
                                     status=current.status)
    return current


def _info(row: Any) -> InfoRequest:
    return InfoRequest(
        request_id=row.id, tenant=row.tenant, proposal_id=row.proposal_id,
        proposal_version=row.proposal_version, reviewer=row.reviewer, question=row.question,
        asked_at=parse_ts(row.asked_at), answer=row.answer, answered_by=row.answered_by,
        answered_at=parse_ts(row.answered_at) if row.answered_at else None)
