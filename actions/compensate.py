"""Compensation: undo a finished action where the CRM allows it, once, with every step ledgered.

crm.update_field -> write the before value back, on the condition that the record is still at the
version our write left it (a later human edit is never clobbered); crm.create_task and
schedule.renewal_review -> close the task (writers implementing CrmTaskCloser); draft.meeting_brief ->
remove the draft. Messages (notify.owner, escalate.exec_sponsor) cannot be unsent."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from actions.contracts import ActionResult, ActionStatus
from actions.crm import CrmTaskCloser, CrmWriter
from actions.effects import Effect
from actions.errors import ActionInFlightError, NotCompensableError
from actions.records import ActionRecords
from decisioning.contracts import Proposal
from ledger.store import Ledger

COMPENSATOR_ACTOR = "revloop.executor"
_TASKS = {"crm.create_task", "schedule.renewal_review"}


class Compensator:
    def __init__(self, store: ActionRecords, ledger: Ledger, crm: CrmWriter, artifacts_dir: Path,
                 clock: Callable[[], datetime], lease: timedelta = timedelta(minutes=5)) -> None:
        self.store = store
        self.ledger = ledger
        self.crm = crm
        self.artifacts_dir = artifacts_dir
        self.clock = clock
        self.lease = lease

    def compensate(self, proposal: Proposal, original: ActionResult) -> ActionResult:
        if original.status is not ActionStatus.succeeded:
            raise NotCompensableError(f"proposal {original.proposal_id}'s action {original.status.value}: "
                                      "only a succeeded action can be undone")
        self._check_supported(original)
        state, done = self.store.claim_compensation(original, self.clock(), self.lease)
        if done is not None:
            return done
        if state == "busy":
            raise ActionInFlightError(f"proposal {original.proposal_id} is being undone elsewhere; ask later")
        key = f"undo:{original.idempotency_key}"
        self.ledger.append(original.tenant, "action.compensation_attempted", COMPENSATOR_ACTOR, {
            "idempotency_key": key, "proposal_id": original.proposal_id,
            "action_type": original.action_type, "undoes": original.idempotency_key})
        fields: dict[str, Any] = {"idempotency_key": key, "proposal_id": original.proposal_id,
                                  "tenant": original.tenant, "action_type": original.action_type,
                                  "proposal_version": original.proposal_version,
                                  "authorized_by": f"compensation:{original.idempotency_key}"}
        try:
            external_ids, before, after = self._undo(proposal, original, key)
            undo = ActionResult(status=ActionStatus.succeeded, external_ids=external_ids, before=before,
                                after=after, executed_at=self.clock(), **fields)
        except Exception as exc:  # recorded and ledgered; the original action stays as it was
            undo = ActionResult(status=ActionStatus.failed, error=f"{type(exc).__name__}: {exc}",
                                executed_at=self.clock(), **fields)
        self.store.complete_compensation(original, undo)
        kind = "action.compensated" if undo.status is ActionStatus.succeeded else "action.compensation_failed"
        self.ledger.append(original.tenant, kind, COMPENSATOR_ACTOR, undo.model_dump(mode="json"))
        return undo

    def _check_supported(self, original: ActionResult) -> None:
        kind = original.action_type
        if kind in _TASKS and not isinstance(self.crm, CrmTaskCloser):
            raise NotCompensableError(f"the configured CRM ({type(self.crm).__name__}) cannot close tasks, "
                                      f"so {kind} cannot be undone; close the task in the CRM by hand")
        if kind not in _TASKS | {"crm.update_field", "draft.meeting_brief"}:
            raise NotCompensableError(f"{kind} cannot be undone: a sent message cannot be recalled")

    def _undo(self, proposal: Proposal, original: ActionResult, key: str) -> Effect:
        kind = original.action_type
        if kind == "crm.update_field":
            field = str(proposal.arguments["field"])
            out = self.crm.update_field(
                original.tenant, object=str(proposal.arguments["object"]),
                record_id=original.external_ids["record_id"], field=field,
                value=original.before.get(field), idempotency_key=key,
                expected_version=original.after.get("version"))
            return {"record_id": out.external_id}, dict(out.before or {}), dict(out.after or {})
        if kind in _TASKS:
            assert isinstance(self.crm, CrmTaskCloser)
            out = self.crm.close_task(original.tenant, original.external_ids["task_id"], key)
            return {"task_id": out.external_id}, dict(out.before or {}), dict(out.after or {})
        path = self.artifacts_dir / original.external_ids["artifact"]
        path.unlink(missing_ok=True)
        return {"artifact": original.external_ids["artifact"]}, {"path": str(path)}, {"deleted": True}

