"""Executors: run automatic and approved proposals exactly once, through idempotency keys.

Order per action: claim the key (own transaction) -> ledger ``action.attempted`` -> act, passing the
key to the target -> store the result -> ledger ``action.completed`` / ``action.failed``. A crash after
the claim leaves it to expire; the retry reuses the key, so the CRM and the outbox deduplicate."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from actions.compensate import Compensator
from actions.contracts import ActionResult, ActionStatus
from actions.crm import CrmWriter
from actions.effects import ActionEffects
from actions.errors import (
    ActionInFlightError,
    ApprovalExpiredError,
    ExecutionPausedError,
    NotCompensableError,
    NotExecutableError,
    ProposalNotFoundError,
)
from actions.notify import Notifier
from actions.records import Claim
from actions.status import ProposalStatus
from actions.store import OperationalStore
from ledger.store import Ledger

EXECUTOR_ACTOR = "revloop.executor"


class ActionExecutor:
    def __init__(self, store: OperationalStore, ledger: Ledger, crm: CrmWriter, artifacts_dir: Path,
                 clock: Callable[[], datetime] | None = None, *,
                 claim_lease: timedelta = timedelta(minutes=5), poll_seconds: float = 0.05,
                 notifiers: Sequence[Notifier] = ()) -> None:
        self.store = store
        self.ledger = ledger
        self.crm = crm
        self.artifacts_dir = artifacts_dir
        self.clock = clock or (lambda: datetime.now(UTC))
        self.claim_lease = claim_lease
        self.poll_seconds = poll_seconds
        self.executor_id = "exec-" + uuid.uuid4().hex[:12]
        self.effects = ActionEffects(crm, store, artifacts_dir, notifiers, self.clock)
        self.compensator = Compensator(store, ledger, crm, artifacts_dir, self.clock, claim_lease)

    def execute_ready(self, tenant: str | None = None) -> list[ActionResult]:
        """Run every ready proposal once; those another executor is running right now are skipped."""
        self.publish_pending()
        results = []
        for stored in self.store.ready_to_execute(tenant):
            result = self._run(stored.proposal.proposal_id, stored.proposal.version, wait_seconds=None)
            if result is not None:
                results.append(result)
        return results

    def execute(self, tenant: str, proposal_id: str, wait_seconds: float = 30.0) -> ActionResult:
        """Run one proposal (or return its stored result); waits for another executor's claim."""
        stored = self.store.get(proposal_id)
        if stored is None or stored.tenant != tenant:
            raise ProposalNotFoundError(f"no proposal {proposal_id} in tenant {tenant}")
        result = self._run(proposal_id, stored.proposal.version, wait_seconds=wait_seconds)
        if result is None:
            raise ActionInFlightError(f"proposal {proposal_id} is being executed elsewhere")
        return result

    def compensate(self, tenant: str, proposal_id: str) -> ActionResult:
        """Undo the proposal's executed action where possible (once; a repeat returns the stored undo)."""
        stored = self.store.get(proposal_id)
        if stored is None or stored.tenant != tenant:
            raise ProposalNotFoundError(f"no proposal {proposal_id} in tenant {tenant}")
        if stored.result is None:
            raise NotCompensableError(f"proposal {proposal_id} is {stored.status.value}: nothing ran, so "
                                      "there is nothing to undo")
        return self.compensator.compensate(stored.proposal, stored.result)

    def publish_pending(self) -> int:
        """Append ledger entries for results stored by an executor that died before appending them."""
        cutoff = self.clock() - self.claim_lease
        pending = [r for r in self.store.unpublished_results() if r.executed_at < cutoff]
        for result in pending:
            self._publish(result)
        return len(pending)

    def _run(self, proposal_id: str, version: int, wait_seconds: float | None) -> ActionResult | None:
        claimant = f"{self.executor_id}/{threading.get_ident()}"
        deadline = time.monotonic() + (wait_seconds or 0.0)
        while True:
            try:
                claim = self.store.claim_action(proposal_id, version, claimant, self.clock(),
                                                self.claim_lease)
            except NotExecutableError as refusal:
                self._refuse(proposal_id, version, refusal)
                if wait_seconds is None:
                    return None
                raise
            except ExecutionPausedError:  # held as it is: it runs once the pause is lifted
                if wait_seconds is None:
                    return None
                raise
            if claim.state == "done":
                return claim.result
            if claim.state == "claimed":
                return self._act(claim)
            if wait_seconds is None:
                return None
            if time.monotonic() >= deadline:
                raise ActionInFlightError(f"{claim.key} is being executed by another executor; "
                                          "its result is not stored yet, ask again later")
            time.sleep(self.poll_seconds)

    def _refuse(self, proposal_id: str, version: int, refusal: NotExecutableError) -> None:
        """A proposal that looked runnable was refused at claim time: take it out of the queue, ledgered."""
        expired = isinstance(refusal, ApprovalExpiredError)
        status = ProposalStatus.expired if expired else ProposalStatus.refused
        if not self.store.refuse_execution(proposal_id, version, status, self.clock()):
            return
        stored = self.store.get(proposal_id, version)
        if stored is not None:
            self.ledger.append(stored.tenant, "action.refused", EXECUTOR_ACTOR, {
                "proposal_id": proposal_id, "proposal_version": version, "code": refusal.code,
                "reason": refusal.message, "status": status.value,
            })

    def _act(self, claim: Claim) -> ActionResult:
        proposal = claim.proposal
        self.ledger.append(proposal.tenant, "action.attempted", EXECUTOR_ACTOR, {
            "idempotency_key": claim.key, "proposal_id": proposal.proposal_id,
            "proposal_version": proposal.version, "action_type": proposal.action_type.value,
            "attempt": claim.attempt, "authorized_by": claim.authorized_by, "trace_id": proposal.trace_id,
        })
        fields: dict[str, Any] = {
            "idempotency_key": claim.key, "proposal_id": proposal.proposal_id, "tenant": proposal.tenant,
            "action_type": proposal.action_type.value, "proposal_version": proposal.version,
            "authorized_by": claim.authorized_by,
        }
        try:
            external_ids, before, after = self.effects.run(claim.proposal, claim.key, claim.record_version)
            result = ActionResult(status=ActionStatus.succeeded, external_ids=external_ids,
                                  before=before, after=after, executed_at=self.clock(), **fields)
        except Exception as exc:  # recorded as a failed result and ledgered, never retried blindly
            result = ActionResult(status=ActionStatus.failed, error=f"{type(exc).__name__}: {exc}",
                                  executed_at=self.clock(), **fields)
        stored = self.store.complete_action(result)
        if stored == result:
            self._publish(stored)
        return stored

    def _publish(self, result: ActionResult) -> None:
        kind = "action.completed" if result.status is ActionStatus.succeeded else "action.failed"
        acted_on = self.store.get(result.proposal_id, result.proposal_version)
        trace_id = acted_on.proposal.trace_id if acted_on is not None else None
        self.ledger.append(result.tenant, kind, EXECUTOR_ACTOR,
                           {**result.model_dump(mode="json"), "trace_id": trace_id})
        self.store.mark_published(result.idempotency_key)
