"""Who allows an execution, re-checked inside the claim's transaction from every stored record.

Nothing is taken on the status column's word: the stored body's digest must match the digest column,
the digest policy saw and (for approvals) the digest the reviewer approved; the policy verdict must be
the one the status claims; an approval must be unexpired and unused by any other idempotency key;
no stop switch may cover it now. Any of these fails closed with a typed error (all are
NotExecutableError). A pause switch holds an automatic proposal instead (ExecutionPausedError)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from actions.contracts import ReviewDecision, ReviewVerdict
from actions.errors import (
    ApprovalAlreadyUsedError,
    ApprovalExpiredError,
    BindingMismatchError,
    ExecutionPausedError,
    KillSwitchOnError,
    NotExecutableError,
)
from actions.status import ProposalStatus
from actions.tables import approvals, parse_ts, policy_bindings, policy_decisions, review_decisions, ts
from decisioning.contracts import PolicyDecision, PolicyOutcome, Proposal
from decisioning.controls import covering_switches


@dataclass(frozen=True)
class Authority:
    authorized_by: str  # "policy:<version>" or "review:<decision_id>"
    record_version: int | None  # the CRM record version the approving reviewer saw


def authorize(conn: Connection, row: Any, proposal: Proposal, key: str, now: datetime) -> Authority:
    """Check the proposal row may run now under ``key``; marks its approval as used by ``key``."""
    name = f"proposal {proposal.proposal_id} v{proposal.version}"
    digest = proposal.arguments_digest
    if row.arguments_digest != digest:
        raise BindingMismatchError(f"{name}: its stored arguments do not match their digest (the row was "
                                   "changed outside revloop); it will not run")
    policy_body = conn.execute(select(policy_decisions.c.body).where(
        policy_decisions.c.proposal_id == row.proposal_id,
        policy_decisions.c.proposal_version == row.version)).scalar()
    if policy_body is None:
        raise NotExecutableError(f"{name} has no policy decision: classify it before executing")
    policy = PolicyDecision.model_validate_json(policy_body)
    bound = conn.execute(select(policy_bindings.c.arguments_digest).where(
        policy_bindings.c.proposal_id == row.proposal_id,
        policy_bindings.c.proposal_version == row.version)).scalar()
    if bound != digest:
        raise BindingMismatchError(f"{name}: policy decided on other arguments than it now holds")
    if policy.errors:
        raise NotExecutableError(f"{name}: policy evaluation failed ({'; '.join(policy.errors)}); "
                                 "failing closed")
    if row.status == ProposalStatus.automatic:
        if policy.outcome is not PolicyOutcome.automatic:
            raise BindingMismatchError(f"{name} is marked automatic but policy said {policy.outcome.value}")
        _check_switches(conn, proposal, name, automatic=True)
        return Authority(f"policy:{policy.policy_version}", None)
    if row.status != ProposalStatus.approved:
        raise NotExecutableError(f"{name} is {row.status}: only automatic or approved proposals run")
    if policy.outcome is not PolicyOutcome.needs_approval:
        raise BindingMismatchError(f"{name}: policy said {policy.outcome.value}; an approval cannot "
                                   "override that")
    _check_switches(conn, proposal, name, automatic=False)
    return _approval(conn, row, name, digest, key, now)


def _check_switches(conn: Connection, proposal: Proposal, name: str, *, automatic: bool) -> None:
    """The kill switches in force now, not at classification: a stop switch refuses the proposal
    (as policy would forbid it today); a pause switch holds an automatic one, since no human has
    looked at it. An approved proposal has had its human, so a pause lets it run."""
    switches = covering_switches(conn, proposal.tenant, proposal.action_type.value)
    if stops := [s for s in switches if s.mode == "stop"]:
        raise KillSwitchOnError(
            f"{name}: kill switch {', '.join(s.scope for s in stops)} is on ({stops[0].reason}); it will "
            "not run. Lift the switch with 'revloop policy resume' and let the agent propose again")
    if automatic and (pauses := [s for s in switches if s.mode == "pause"]):
        raise ExecutionPausedError(
            f"{name} would run without a human, and {', '.join(s.scope for s in pauses)} is paused "
            f"({pauses[0].reason}): it waits until the pause is lifted")


def _approval(conn: Connection, row: Any, name: str, digest: str, key: str, now: datetime) -> Authority:
    review_body = conn.execute(select(review_decisions.c.body).where(
        review_decisions.c.proposal_id == row.proposal_id,
        review_decisions.c.proposal_version == row.version)).scalar()
    review = ReviewDecision.model_validate_json(review_body) if review_body else None
    if review is None or review.verdict is not ReviewVerdict.approve or review.arguments_digest != digest:
        raise BindingMismatchError(f"{name} has no approval bound to its current arguments")
    approval = conn.execute(select(approvals).where(
        approvals.c.proposal_id == row.proposal_id, approvals.c.proposal_version == row.version)).first()
    if (approval is None or approval.decision_id != review.decision_id
            or approval.arguments_digest != digest or approval.record_version != review.record_version):
        raise BindingMismatchError(f"{name}: the approval record does not match the reviewer's decision")
    if approval.used_by is not None and approval.used_by != key:
        raise ApprovalAlreadyUsedError(f"{name}: approval {review.decision_id} was already used by "
                                       f"{approval.used_by}; an approval authorises one execution")
    if approval.used_by is None:
        if parse_ts(approval.expires_at) <= now:
            raise ApprovalExpiredError(f"{name}: approval {review.decision_id} expired at "
                                       f"{approval.expires_at} before it was used; review it again")
        conn.execute(update(approvals).where(approvals.c.decision_id == approval.decision_id)
                     .values(used_by=key, used_at=ts(now)))
    return Authority(f"review:{review.decision_id}", review.record_version)
