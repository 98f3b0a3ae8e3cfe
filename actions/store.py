"""The operational store of proposals, policy and review decisions, action results and the outbox.

SQLAlchemy Core on ``ledger.sql.make_engine``: SQLite (WAL, BEGIN IMMEDIATE) locally, PostgreSQL in AWS.
Every state change checks the current status inside its own transaction, so a racing reviewer or
executor sees the other's change and is refused instead of overwriting it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from actions.contracts import ActionResult, ReviewDecision, ReviewVerdict
from actions.errors import NotAwaitingReviewError, ProposalNotFoundError
from actions.records import ActionRecords
from actions.status import EXECUTABLE, UNDECIDED, ProposalStatus, StoredProposal
from actions.tables import (
    action_results,
    metadata,
    parse_ts,
    policy_decisions,
    proposals,
    review_decisions,
    ts,
)
from decisioning.contracts import PolicyDecision, PolicyOutcome, Proposal
from ledger.sql import make_engine

_POLICY_STATUS = {
    PolicyOutcome.automatic: ProposalStatus.automatic,
    PolicyOutcome.needs_approval: ProposalStatus.needs_approval,
    PolicyOutcome.forbidden: ProposalStatus.forbidden,
}


class OperationalStore(ActionRecords):
    """Proposals and everything decided about them, per tenant."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        metadata.create_all(self.engine)

    # --- proposals -----------------------------------------------------------------------------

    def add_proposals(self, items: Sequence[Proposal], now: datetime | None = None) -> list[Proposal]:
        """Store proposals awaiting policy; returns only those not stored before (by id + version).

        A newer version supersedes older versions that were not decided yet."""
        at = ts(now or datetime.now(UTC))
        added: list[Proposal] = []
        with self.engine.begin() as conn:
            for proposal in items:
                known = conn.execute(select(proposals.c.version, proposals.c.tenant).where(
                    proposals.c.proposal_id == proposal.proposal_id)).all()
                if any(row.tenant != proposal.tenant for row in known):
                    raise ValueError(f"proposal id {proposal.proposal_id} already belongs to another "
                                     "tenant; proposal ids must be unique across tenants")
                if any(row.version == proposal.version for row in known):
                    continue
                newest = max((row.version for row in known), default=0)
                status = ProposalStatus.pending_policy
                if newest > proposal.version:
                    status = ProposalStatus.superseded
                conn.execute(update(proposals).where(
                    proposals.c.proposal_id == proposal.proposal_id,
                    proposals.c.version < proposal.version,
                    proposals.c.status.in_([s.value for s in UNDECIDED]),
                ).values(status=ProposalStatus.superseded.value, updated_at=at))
                conn.execute(insert(proposals).values(
                    proposal_id=proposal.proposal_id, version=proposal.version, tenant=proposal.tenant,
                    account_id=proposal.account_id, action_type=proposal.action_type.value,
                    risk_tier=proposal.risk_tier.value, confidence=proposal.confidence,
                    status=status.value, arguments_digest=proposal.arguments_digest,
                    body=proposal.model_dump_json(), created_at=ts(proposal.created_at),
                    updated_at=at))
                added.append(proposal)
        return added

    def record_policy(self, decision: PolicyDecision) -> bool:
        """Apply the policy verdict; False when this proposal version already had one (a re-delivery).

        A decision that carries evaluation errors is treated as forbidden: fail closed."""
        at = ts(decision.decided_at)
        with self.engine.begin() as conn:
            row = self._row(conn, decision.proposal_id, decision.proposal_version)
            if row is None or row.tenant != decision.tenant:
                raise ProposalNotFoundError(
                    f"no proposal {decision.proposal_id} v{decision.proposal_version} of tenant "
                    f"{decision.tenant}: store the proposal before its policy decision")
            if conn.execute(select(policy_decisions.c.id).where(
                    policy_decisions.c.proposal_id == decision.proposal_id,
                    policy_decisions.c.proposal_version == decision.proposal_version)).first():
                return False
            conn.execute(insert(policy_decisions).values(
                proposal_id=decision.proposal_id, proposal_version=decision.proposal_version,
                tenant=decision.tenant, outcome=decision.outcome.value,
                policy_version=decision.policy_version, body=decision.model_dump_json(), decided_at=at))
            if row.status != ProposalStatus.pending_policy:
                return True
            outcome = PolicyOutcome.forbidden if decision.errors else decision.outcome
            status = _POLICY_STATUS[outcome]
            values: dict[str, Any] = {"status": status.value, "updated_at": at}
            if status is ProposalStatus.needs_approval:
                values["awaiting_review_since"] = at
            if status is ProposalStatus.automatic:
                values["ready_seq"] = self._next_ready_seq(conn)
            self._set(conn, decision.proposal_id, decision.proposal_version, values)
        return True

    def record_review(self, decision: ReviewDecision) -> None:
        """Store a human decision; refused unless the proposal version is awaiting review right now."""
        at = ts(decision.decided_at)
        with self.engine.begin() as conn:
            row = self._row(conn, decision.proposal_id, decision.proposal_version)
            if row is None or row.tenant != decision.tenant:
                raise ProposalNotFoundError(f"no proposal {decision.proposal_id} in tenant {decision.tenant}")
            if row.status != ProposalStatus.needs_approval:
                raise NotAwaitingReviewError(
                    f"proposal {decision.proposal_id} is {row.status}, not awaiting review; "
                    "nothing was changed", status=row.status)
            try:
                with conn.begin_nested():
                    conn.execute(insert(review_decisions).values(
                        decision_id=decision.decision_id, proposal_id=decision.proposal_id,
                        proposal_version=decision.proposal_version, tenant=decision.tenant,
                        verdict=decision.verdict.value, reviewer=decision.reviewer,
                        body=decision.model_dump_json(), decided_at=at))
            except IntegrityError as exc:
                raise NotAwaitingReviewError(f"proposal {decision.proposal_id} was already decided",
                                             status=row.status) from exc
            approved = decision.verdict is ReviewVerdict.approve
            values: dict[str, Any] = {"updated_at": at, "status": (
                ProposalStatus.approved if approved else ProposalStatus.rejected).value}
            if approved:
                values["ready_seq"] = self._next_ready_seq(conn)
            self._set(conn, decision.proposal_id, decision.proposal_version, values)

    def mark_expired(self, proposal_id: str, version: int, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == version,
                proposals.c.status == ProposalStatus.needs_approval.value,
            ).values(status=ProposalStatus.expired.value, updated_at=ts(now)))
            return done.rowcount > 0

    def expire_overdue_proposals(self, now: datetime, ttl: timedelta) -> list[Proposal]:
        """Move every proposal that waited for review longer than ``ttl`` to expired; returns them."""
        cutoff = ts(now - ttl)
        with self.engine.begin() as conn:
            rows = conn.execute(select(proposals).where(
                proposals.c.status == ProposalStatus.needs_approval.value,
                proposals.c.awaiting_review_since < cutoff)).all()
            for row in rows:
                self._set(conn, row.proposal_id, row.version,
                          {"status": ProposalStatus.expired.value, "updated_at": ts(now)})
        return [Proposal.model_validate_json(row.body) for row in rows]

    def expire_overdue(self, now: datetime, ttl: timedelta) -> int:
        return len(self.expire_overdue_proposals(now, ttl))

    # --- reads ---------------------------------------------------------------------------------

    def get(self, proposal_id: str, version: int | None = None) -> StoredProposal | None:
        """The proposal's newest version (or the given one) with everything decided about it."""
        query = select(proposals).where(proposals.c.proposal_id == proposal_id)
        if version is not None:
            query = query.where(proposals.c.version == version)
        query = query.order_by(proposals.c.version.desc()).limit(1)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
            found = self._hydrate(conn, rows)
        return found[0] if found else None

    def list(self, tenant: str, status: str | None = None, action_type: str | None = None,
             risk_tier: str | None = None, account_id: str | None = None,
             limit: int = 500) -> list[StoredProposal]:
        query = select(proposals).where(proposals.c.tenant == tenant)
        for column, value in ((proposals.c.status, status), (proposals.c.action_type, action_type),
                              (proposals.c.risk_tier, risk_tier), (proposals.c.account_id, account_id)):
            if value is not None:
                query = query.where(column == str(value))
        query = query.order_by(proposals.c.created_at.desc(), proposals.c.proposal_id).limit(limit)
        with self.engine.connect() as conn:
            return self._hydrate(conn, conn.execute(query).all())

    def pending_policy(self) -> list[Proposal]:
        query = select(proposals.c.body).where(
            proposals.c.status == ProposalStatus.pending_policy.value).order_by(proposals.c.created_at)
        with self.engine.connect() as conn:
            return [Proposal.model_validate_json(body) for body in conn.execute(query).scalars()]

    def ready_to_execute(self, tenant: str | None = None) -> list[StoredProposal]:
        """Automatic or approved proposals whose action has not finished yet, oldest decision first."""
        return self.ready_after(0, tenant)

    def ready_after(self, cursor: int, tenant: str | None = None) -> list[StoredProposal]:
        query = select(proposals).where(
            proposals.c.status.in_([s.value for s in EXECUTABLE]), proposals.c.ready_seq > cursor)
        if tenant is not None:
            query = query.where(proposals.c.tenant == tenant)
        with self.engine.connect() as conn:
            return self._hydrate(conn, conn.execute(query.order_by(proposals.c.ready_seq)).all())

    def max_decision_id(self) -> int:
        """Grows by one whenever a proposal becomes automatic or approved: a sensor's cursor."""
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(proposals.c.ready_seq))).scalar() or 0)

    def status_counts(self, tenant: str | None = None) -> dict[str, int]:
        query = select(proposals.c.status, func.count()).group_by(proposals.c.status)
        if tenant is not None:
            query = query.where(proposals.c.tenant == tenant)
        with self.engine.connect() as conn:
            counts = {row[0]: int(row[1]) for row in conn.execute(query)}
        return {status.value: counts.get(status.value, 0) for status in ProposalStatus}

    # --- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _row(conn: Connection, proposal_id: str, version: int) -> Row[Any] | None:
        return conn.execute(select(proposals).where(
            proposals.c.proposal_id == proposal_id, proposals.c.version == version)).first()

    @staticmethod
    def _set(conn: Connection, proposal_id: str, version: int, values: dict[str, Any]) -> None:
        conn.execute(update(proposals).where(
            proposals.c.proposal_id == proposal_id, proposals.c.version == version).values(**values))

    @staticmethod
    def _next_ready_seq(conn: Connection) -> int:
        return int(conn.execute(select(func.max(proposals.c.ready_seq))).scalar() or 0) + 1

    @staticmethod
    def _hydrate(conn: Connection, rows: Sequence[Row[Any]]) -> list[StoredProposal]:
        if not rows:
            return []
        ids = list({row.proposal_id for row in rows})
        policies = {(r.proposal_id, r.proposal_version): PolicyDecision.model_validate_json(r.body)
                    for r in conn.execute(select(policy_decisions).where(
                        policy_decisions.c.proposal_id.in_(ids)))}
        reviews = {(r.proposal_id, r.proposal_version): ReviewDecision.model_validate_json(r.body)
                   for r in conn.execute(select(review_decisions).where(
                       review_decisions.c.proposal_id.in_(ids)))}
        results = {(r.proposal_id, r.proposal_version): ActionResult.model_validate_json(r.body)
                   for r in conn.execute(select(action_results).where(
                       action_results.c.proposal_id.in_(ids), action_results.c.body.is_not(None)))}
        out = []
        for row in rows:
            key = (row.proposal_id, row.version)
            out.append(StoredProposal(
                proposal=Proposal.model_validate_json(row.body), status=ProposalStatus(row.status),
                policy=policies.get(key), review=reviews.get(key), result=results.get(key),
                awaiting_review_since=(parse_ts(row.awaiting_review_since)
                                       if row.awaiting_review_since else None),
                updated_at=parse_ts(row.updated_at)))
        return out
