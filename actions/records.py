"""Action claims and results (the idempotency store) and plain table reads.

A mixin of OperationalStore: it shares the store's engine and tables."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Engine, insert, select, update

from actions.authority import authorize
from actions.budget_release import release_reservations
from actions.contracts import ActionResult, ActionStatus
from actions.errors import NotExecutableError
from actions.postgres_dialect import lock_key, proposal_lock
from actions.status import EXECUTABLE, ProposalStatus, idempotency_key
from actions.tables import (
    TABLES,
    action_results,
    compensations,
    parse_ts,
    policy_decisions,
    proposals,
    review_decisions,
    ts,
)
from decisioning.contracts import Proposal


@dataclass(frozen=True)
class Claim:
    """What claiming an idempotency key found: act now, someone else is acting, or it is done."""

    state: Literal["claimed", "busy", "done"]
    key: str
    proposal: Proposal
    result: ActionResult | None = None
    authorized_by: str | None = None
    record_version: int | None = None  # the CRM record version the approving reviewer saw
    attempt: int = 0


class ActionRecords:
    engine: Engine

    def claim_action(self, proposal_id: str, version: int, claimant: str, now: datetime,
                     lease: timedelta) -> Claim:
        """Claim the proposal's idempotency key in one transaction, before any side effect.

        A claim whose lease ran out (its executor crashed) is taken over: the retry reuses the key,
        so the CRM deduplicates whatever the crashed attempt may already have written."""
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(proposal_id))
            row = conn.execute(select(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == version)).first()
            if row is None:
                raise NotExecutableError(f"no proposal {proposal_id} v{version}")
            proposal = Proposal.model_validate_json(row.body)
            key = idempotency_key(proposal)
            held = conn.execute(select(action_results).where(
                action_results.c.idempotency_key == key)).first()
            if held is not None and held.state != "claimed":
                return Claim("done", key, proposal, result=ActionResult.model_validate_json(held.body))
            if row.status not in EXECUTABLE:
                raise NotExecutableError(
                    f"proposal {proposal_id} v{version} is {row.status}: only automatic or approved "
                    "proposals are executed")
            if held is not None and held.claimed_until > ts(now):
                return Claim("busy", key, proposal)
            authority = authorize(conn, row, proposal, key, now)
            until = ts(now + lease)
            if held is not None:
                attempt = held.attempts + 1
                conn.execute(update(action_results).where(action_results.c.idempotency_key == key)
                             .values(claimed_by=claimant, claimed_until=until, attempts=attempt))
            else:
                attempt = 1
                conn.execute(insert(action_results).values(
                    idempotency_key=key, proposal_id=proposal_id, proposal_version=version,
                    tenant=row.tenant, action_type=row.action_type, state="claimed",
                    claimed_by=claimant, claimed_until=until, attempts=1, published=0))
        return Claim("claimed", key, proposal, authorized_by=authority.authorized_by,
                     record_version=authority.record_version, attempt=attempt)

    def refuse_execution(self, proposal_id: str, version: int, status: ProposalStatus,
                         now: datetime) -> bool:
        """Take a ready proposal out of the queue (expired or refused approval); False if it moved on."""
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(proposal_id))
            done = conn.execute(update(proposals).where(
                proposals.c.proposal_id == proposal_id, proposals.c.version == version,
                proposals.c.status.in_([s.value for s in EXECUTABLE]),
            ).values(status=status.value, updated_at=ts(now)))
            if done.rowcount:
                release_reservations(conn, [(proposal_id, version)])
            return done.rowcount > 0

    def complete_action(self, result: ActionResult) -> ActionResult:
        """Store the result of a claimed action; if another attempt finished first, return that one."""
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(result.proposal_id))
            held = conn.execute(select(action_results).where(
                action_results.c.idempotency_key == result.idempotency_key)).first()
            if held is None:
                raise NotExecutableError(f"no claim on {result.idempotency_key}: claim before acting")
            if held.state != "claimed":
                return ActionResult.model_validate_json(held.body)
            conn.execute(update(action_results).where(
                action_results.c.idempotency_key == result.idempotency_key).values(
                state=result.status.value, body=result.model_dump_json(),
                completed_at=ts(result.executed_at)))
            status = (ProposalStatus.executed if result.status is ActionStatus.succeeded
                      else ProposalStatus.failed)
            conn.execute(update(proposals).where(
                proposals.c.proposal_id == held.proposal_id,
                proposals.c.version == held.proposal_version).values(
                status=status.value, updated_at=ts(result.executed_at)))
        return result

    # --- compensation (undo of a finished action, once per action) -------------------------------

    def claim_compensation(self, result: ActionResult, now: datetime,
                           lease: timedelta) -> tuple[str, ActionResult | None]:
        """("claimed", None) to undo now; ("busy", None) while another undo runs; ("done", stored)."""
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(result.proposal_id))
            held = conn.execute(select(compensations).where(
                compensations.c.idempotency_key == result.idempotency_key)).first()
            if held is not None and held.state != "claimed":
                return "done", ActionResult.model_validate_json(held.body)
            if held is not None and held.claimed_until > ts(now):
                return "busy", None
            if held is None:
                conn.execute(insert(compensations).values(
                    idempotency_key=result.idempotency_key, tenant=result.tenant,
                    proposal_id=result.proposal_id, state="claimed", claimed_until=ts(now + lease)))
            else:
                conn.execute(update(compensations).where(
                    compensations.c.idempotency_key == result.idempotency_key,
                ).values(claimed_until=ts(now + lease)))
        return "claimed", None

    def complete_compensation(self, original: ActionResult, undo: ActionResult) -> ActionResult:
        """Store the undo's result; a succeeded undo marks the proposal compensated."""
        with self.engine.begin() as conn:
            lock_key(conn, proposal_lock(original.proposal_id))
            conn.execute(update(compensations).where(
                compensations.c.idempotency_key == original.idempotency_key,
            ).values(state=undo.status.value, body=undo.model_dump_json(), completed_at=ts(undo.executed_at)))
            if undo.status is ActionStatus.succeeded:
                conn.execute(update(proposals).where(
                    proposals.c.proposal_id == original.proposal_id,
                    proposals.c.version == original.proposal_version,
                ).values(status=ProposalStatus.compensated.value, updated_at=ts(undo.executed_at)))
        return undo

    def action_result(self, key: str) -> ActionResult | None:
        with self.engine.connect() as conn:
            body = conn.execute(select(action_results.c.body).where(
                action_results.c.idempotency_key == key)).scalar()
        return ActionResult.model_validate_json(body) if body else None

    def unpublished_results(self) -> list[ActionResult]:
        """Finished actions whose ledger entry may not have been appended (a crash in between)."""
        query = select(action_results.c.body).where(
            action_results.c.body.is_not(None), action_results.c.published == 0)
        with self.engine.connect() as conn:
            return [ActionResult.model_validate_json(body) for body in conn.execute(query).scalars()]

    def mark_published(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(action_results).where(action_results.c.idempotency_key == key)
                         .values(published=1))

    # --- plain reads for export (Iceberg) -------------------------------------------------------

    def rows(self, table_name: str, tenant: str | None = None) -> list[dict[str, Any]]:
        """Every row of one operational table as plain dicts; JSON bodies stay text."""
        table = TABLES.get(table_name)
        if table is None:
            raise KeyError(f"unknown table {table_name!r}; known: {sorted(TABLES)}")
        query = select(table)
        if tenant is not None:
            query = query.where(table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]


    def proposal_rows(self) -> list[dict[str, Any]]:
        """One row per proposal version, shaped for the Iceberg ``proposals`` table."""
        query = select(proposals.c.tenant, proposals.c.proposal_id, proposals.c.version,
                       proposals.c.account_id, proposals.c.action_type, proposals.c.risk_tier,
                       proposals.c.confidence, proposals.c.status, proposals.c.created_at)
        with self.engine.connect() as conn:
            return [{**row._mapping, "created_at": parse_ts(row.created_at)} for row in conn.execute(query)]

    def decision_rows(self) -> list[dict[str, Any]]:
        """Policy and review decisions, shaped for the Iceberg ``decisions`` table."""
        with self.engine.connect() as conn:
            policy_rows = [{
                "tenant": r.tenant, "decision_id": f"policy:{r.proposal_id}:v{r.proposal_version}",
                "proposal_id": r.proposal_id, "stage": "policy", "outcome": r.outcome,
                "actor": f"policy {r.policy_version}", "decided_at": parse_ts(r.decided_at),
            } for r in conn.execute(select(policy_decisions).order_by(policy_decisions.c.id))]
            review_rows = [{
                "tenant": r.tenant, "decision_id": r.decision_id, "proposal_id": r.proposal_id,
                "stage": "review", "outcome": r.verdict, "actor": r.reviewer,
                "decided_at": parse_ts(r.decided_at),
            } for r in conn.execute(select(review_decisions).order_by(review_decisions.c.id))]
        return policy_rows + review_rows

    def action_rows(self) -> list[dict[str, Any]]:
        """Finished actions (claims in flight excluded), shaped for the Iceberg ``actions`` table."""
        query = select(action_results).where(action_results.c.body.is_not(None))
        with self.engine.connect() as conn:
            return [{"tenant": r.tenant, "idempotency_key": r.idempotency_key,
                     "proposal_id": r.proposal_id, "action_type": r.action_type, "status": r.state,
                     "executed_at": parse_ts(r.completed_at)} for r in conn.execute(query)]

