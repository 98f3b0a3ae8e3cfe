"""CRM webhook change events -> FieldChange records the CRM rules understand.

Two shapes (anything else raises UnsupportedEvent): a HubSpot event (it has a ``subscriptionType``;
perception/webhook_hubspot.py), or revloop's own record-change event:

    {"type": "crm.record.changed", "object": "opportunities" | "contacts" | "accounts",
     "record_id": str, "account_id": str, "changes": {field: {"before": x, "after": y}}}

Fields may use canonical names or the source's own (e.g. `CloseDate`); enum labels ("Closed Won",
"No Longer at Company") are mapped to canonical values as normalize does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from perception.contracts import ChangeType, FieldChange
from perception.mappings import MAPPINGS, ColumnSpec

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotFields
    from perception.normalize import NormalizedSnapshot

EVENT_TYPE = "crm.record.changed"
EVENT_OBJECTS: tuple[str, ...] = ("opportunities", "contacts", "accounts")


class UnsupportedEvent(ValueError):
    """A webhook payload that is not a CRM record change this version understands."""


def _columns(source: str, object_: str) -> dict[str, ColumnSpec]:
    """Canonical and source spellings of a field -> its column spec."""
    found: dict[str, ColumnSpec] = {}
    for spec in MAPPINGS[source][object_].columns:
        found[spec.name] = spec
        if isinstance(spec.source, str):
            found[spec.source] = spec
    return found


def _canonical_value(spec: ColumnSpec | None, value: Any) -> Any:
    if spec is None or spec.kind != "enum" or not isinstance(value, str):
        return value
    lowered = value.strip().lower()
    lowered = spec.labels.get(lowered, lowered)
    return "_".join(part for part in "".join(c if c.isalnum() else " " for c in lowered).split())


def changes_from_webhook_event(tenant: str, event: dict[str, Any], source: str = "demo",
                               context: NormalizedSnapshot | None = None,
                               hubspot_fields: HubSpotFields | None = None,
                               stage_labels: Mapping[str, str] | None = None) -> list[FieldChange]:
    """The field changes one webhook event carries. ``context`` (the tenant's latest normalized
    snapshot) supplies what a HubSpot event lacks: the value before and the record's account."""
    if not isinstance(event, dict):
        raise UnsupportedEvent(f"a webhook event must be a JSON object, got {type(event).__name__}")
    if "subscriptionType" in event:
        from perception.webhook_hubspot import changes_from_hubspot_event  # it imports UnsupportedEvent

        return changes_from_hubspot_event(tenant, event, context, hubspot_fields, stage_labels)
    if event.get("type") != EVENT_TYPE:
        raise UnsupportedEvent(
            f"unsupported event type {event.get('type')!r}; only {EVENT_TYPE!r} is handled")
    object_ = event.get("object")
    if object_ not in EVENT_OBJECTS:
        raise UnsupportedEvent(f"unsupported object {object_!r}; expected one of {list(EVENT_OBJECTS)}")
    record_id, account_id = event.get("record_id"), event.get("account_id")
    if not isinstance(record_id, str) or not record_id:
        raise UnsupportedEvent("the event has no record_id string")
    if account_id is not None and not isinstance(account_id, str):
        raise UnsupportedEvent("account_id must be a string when present")
    changes = event.get("changes")
    if not isinstance(changes, dict) or not changes:
        raise UnsupportedEvent("the event has no 'changes' object of {field: {before, after}}")
    specs = _columns(source, object_) if source in MAPPINGS else {}
    out = []
    for name, diff in sorted(changes.items()):
        if not isinstance(diff, dict) or not {"before", "after"} <= set(diff):
            raise UnsupportedEvent(f"change of field {name!r} must be {{'before': ..., 'after': ...}}")
        spec = specs.get(name)
        out.append(FieldChange(
            tenant=tenant, object=object_, entity_id=record_id,
            account_id=account_id if object_ != "accounts" else (account_id or record_id),
            change=ChangeType.changed, field=spec.name if spec else name,
            before=_canonical_value(spec, diff["before"]), after=_canonical_value(spec, diff["after"])))
    return out
