"""The operational store of proposals, policy and review decisions, action results and the outbox.

SQLAlchemy Core on ``ledger.sql.make_engine``: SQLite (WAL, BEGIN IMMEDIATE) locally, PostgreSQL in AWS.
Every state change checks the current status inside its own transaction, so a racing reviewer or
executor sees the other's change and is refused instead of overwriting it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from actions.budget_release import release_reservations
from actions.contracts import ActionResult, ReviewDecision, ReviewVerdict
from actions.errors import ArgumentsDigestMismatchError, NotAwaitingReviewError, ProposalNotFoundError
from actions.postgres_dialect import READY_SEQUENCE_LOCK, lock_key, proposal_lock
from actions.records import ActionRecords
from actions.status import EXECUTABLE, SUPERSEDABLE, ProposalStatus, StoredProposal, stored_digest
from actions.store_outbox import OutboxRecords
from actions.store_review import ReviewRecords, insert_proposal
from actions.tables import (
    action_results,
    approvals,
    ensure_schema,
    parse_ts,
    policy_bindings,
    policy_decisions,
    proposals,
    review_decisions,
    ts,
)
from decisioning.contracts import PolicyDecision, PolicyOutcome, Proposal
from decisioning.policy_control_tables import kill_switches
from decisioning.policy_control_tables import metadata as control_tables
from ledger.sql import make_engine

_POLICY_STATUS = {
    PolicyOutcome.automatic: ProposalStatus.automatic,
    PolicyOutcome.needs_approval: ProposalStatus.needs_approval,
    PolicyOutcome.forbidden: ProposalStatus.forbidden,
}


class OperationalStore(ActionRecords, ReviewRecords, OutboxRecords):
    """Proposals and everything decided about them, per tenant (SQLite or PostgreSQL by ``url``)."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        ensure_schema(self.engine)
        control_tables.create_all(self.engine)  # the executor reads kill switches in its claim

    # --- proposals -----------------------------------------------------------------------------

    def add_proposals(self, items: Sequence[Proposal], now: datetime | None = None) -> list[Proposal]:
        """Store proposals awaiting policy; returns only those not stored before (by id + version).

        A newer version supersedes older versions that have not started to run."""
        at = ts(now or datetime.now(UTC))
        added: list[Proposal] = []
        with self.engine.begin() as conn:
            for proposal in items:
                lock_key(conn, proposal_lock(proposal.proposal_id))
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
                self._supersede_older(conn, proposal.proposal_id, proposal.version, at)
                insert_proposal(conn, proposal, status, at)
                added.append(proposal)
        return added

    @staticmethod
    def _supersede_older(conn: Connection, proposal_id: str, version: int, at: str) -> None:
        claimed = exists().where(action_results.c.proposal_id == proposals.c.proposal_id,
                                 action_results.c.proposal_version == proposals.c.version)
        superseded = conn.execute(update(proposals).where(
            proposals.c.proposal_id == proposal_id, proposals.c.version < version,
            proposals.c.status.in_([s.value for s in SUPERSEDABLE]), ~claimed,
        ).values(status=ProposalStatus.superseded.value, updated_at=at).returning(proposals.c.version))
        release_reservations(conn, [(proposal_id, old) for old in superseded.scalars()])

    def record_policy(self, decision: PolicyDecision) -> bool:
        """Apply the policy verdict; False when this proposal version already had one (a re-delivery).

        A decision that carries evaluation errors is treated as forbidden: fail closed."""
        at = ts(decision.decided_at)
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(decision.proposal_id))
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
            conn.execute(insert(policy_bindings).values(
                proposal_id=decision.proposal_id, proposal_version=decision.proposal_version,
                tenant=decision.tenant, arguments_digest=stored_digest(row.body)))
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
        """Store a human decision; refused unless the proposal version is awaiting review right now and
        the decision names the arguments it holds. An approval also stores its binding (see approvals)."""
        at = ts(decision.decided_at)
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(decision.proposal_id))
            row = self._row(conn, decision.proposal_id, decision.proposal_version)
            if row is None or row.tenant != decision.tenant:
                raise ProposalNotFoundError(f"no proposal {decision.proposal_id} in tenant {decision.tenant}")
            if row.status != ProposalStatus.needs_approval:
                raise NotAwaitingReviewError(
                    f"proposal {decision.proposal_id} is {row.status}, not awaiting review; "
                    "nothing was changed", status=row.status)
            if not decision.arguments_digest == row.arguments_digest == stored_digest(row.body):
                raise ArgumentsDigestMismatchError(
                    f"the decision on {decision.proposal_id} v{decision.proposal_version} names other "
                    "arguments than the stored proposal holds: reload and review again")
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
                if decision.expires_at is None:
                    raise ValueError("an approval needs expires_at: approvals are bound to a validity")
                conn.execute(insert(approvals).values(
                    decision_id=decision.decision_id, proposal_id=decision.proposal_id,
                    proposal_version=decision.proposal_version, tenant=decision.tenant,
                    arguments_digest=decision.arguments_digest, record_version=decision.record_version,
                    approved_at=at, expires_at=ts(decision.expires_at)))
                values["ready_seq"] = self._next_ready_seq(conn)
            else:
                release_reservations(conn, [(decision.proposal_id, decision.proposal_version)])
            self._set(conn, decision.proposal_id, decision.proposal_version, values)

    def mark_expired(self, proposal_id: str, version: int, now: datetime) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(update(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == version,
                proposals.c.status == ProposalStatus.needs_approval.value,
            ).values(status=ProposalStatus.expired.value, updated_at=ts(now)))
            if done.rowcount:
                release_reservations(conn, [(proposal_id, version)])
            return done.rowcount > 0

    def expire_overdue_proposals(self, now: datetime, ttl: timedelta) -> list[Proposal]:
        """Move every proposal that waited for review longer than ``ttl`` to expired; returns them."""
        cutoff = ts(now - ttl)
        waiting = [ProposalStatus.needs_approval.value, ProposalStatus.info_requested.value]
        with self.engine.begin() as conn:
            # The status condition is in the UPDATE itself: a decision committed meanwhile wins.
            bodies = conn.execute(update(proposals).where(
                proposals.c.status.in_(waiting), proposals.c.awaiting_review_since < cutoff,
            ).values(status=ProposalStatus.expired.value, updated_at=ts(now))
                .returning(proposals.c.body)).scalars().all()
            expired = [Proposal.model_validate_json(body) for body in bodies]
            release_reservations(conn, [(p.proposal_id, p.version) for p in expired])
        return expired

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

    def kill_switch_fingerprint(self) -> str:
        """Changes whenever a kill switch is set, changed or lifted: lifting a pause can make held
        automatic proposals runnable without any new decision."""
        query = select(kill_switches.c.tenant, kill_switches.c.action_type, kill_switches.c.mode,
                       kill_switches.c.set_at).order_by(kill_switches.c.tenant, kill_switches.c.action_type)
        with self.engine.connect() as conn:
            rows = [tuple(row) for row in conn.execute(query)]
        return hashlib.sha256(repr(rows).encode()).hexdigest()[:12]

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
        lock_key(conn, READY_SEQUENCE_LOCK)
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
