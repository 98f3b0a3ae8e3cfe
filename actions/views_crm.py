"""What a proposal would change in the CRM, field by field: the current value (CrmWriter.get_record)
next to the proposed one, or the fields of a record it would create."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actions.views import RecordLookup
from decisioning.contracts import ActionType, Proposal

# Action types that create a CRM record, and what that record is called.
CREATES = {"crm.create_task": "task", "schedule.renewal_review": "renewal review meeting"}


@dataclass(frozen=True)
class CrmChange:
    object: str
    record_id: str | None  # None: a record this action would create
    field: str
    current: Any
    proposed: Any
    record_version: int | None = None
    record_found: bool = True

    @property
    def creates(self) -> bool:
        return self.record_id is None


def crm_changes(proposal: Proposal, lookup: RecordLookup | None) -> list[CrmChange]:
    """Every field the action writes; empty when it writes nothing to the CRM (messages, briefs)."""
    args = proposal.arguments
    if proposal.action_type is ActionType.crm_update_field:
        obj, record_id, field = str(args.get("object")), str(args.get("record_id")), str(args.get("field"))
        record = lookup(proposal.tenant, obj, record_id) if lookup is not None else None
        version = record.get("version") if record else None
        return [CrmChange(obj, record_id, field, current=(record or {}).get(field),
                          proposed=args.get("value"),
                          record_version=version if isinstance(version, int) else None,
                          record_found=record is not None)]
    if proposal.action_type.value in CREATES:
        name = CREATES[proposal.action_type.value]
        changes = [CrmChange(name, None, "account_id", None, proposal.account_id)]
        return changes + [CrmChange(name, None, key, None, value) for key, value in args.items()]
    return []


def bound_record_version(changes: list[CrmChange]) -> int | None:
    """The record version an approval is bound to: the one of the record being updated."""
    versions = [c.record_version for c in changes if not c.creates and c.record_version is not None]
    return versions[0] if len(versions) == 1 else None
