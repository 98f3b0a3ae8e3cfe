"""HubSpot webhook events -> the FieldChange records a snapshot diff would produce for the same edit.

Handled: ``{company,contact,deal}.{propertyChange,creation,deletion,associationChange}`` and the
generic ``object.*`` form (object type in ``objectTypeId``). HubSpot sends only the new value of a
property, so the value before comes from the tenant's latest normalized snapshot (``context``), as do
the account of a contact or deal. Values go through the same column specs as normalize
(perception.mappings_hubspot), so a webhook and a pull spell every value alike. An event whose new
value equals the snapshot's is no change (the pull has already seen it). Anything malformed raises
UnsupportedEvent, the only error this module raises."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

import polars as pl

from perception.contracts import ChangeType, FieldChange
from perception.mapping_spec import ColumnSpec
from perception.mappings import MAPPINGS
from perception.normalize import NormalizedSnapshot
from perception.schemas import KEYS
from perception.webhook_events import UnsupportedEvent

if TYPE_CHECKING:
    from connectors.hubspot.connector import HubSpotFields

OBJECTS = {"company": "accounts", "contact": "contacts", "deal": "opportunities"}
OBJECT_TYPE_IDS = {"0-1": "contact", "0-2": "company", "0-3": "deal"}
ACTIONS = ("propertyChange", "creation", "deletion", "associationChange")
# Stage ids of HubSpot's default sales pipeline -> labels (custom pipelines: pass stage_labels).
DEFAULT_STAGE_LABELS = {
    "appointmentscheduled": "Appointment Scheduled", "qualifiedtobuy": "Qualified To Buy",
    "presentationscheduled": "Presentation Scheduled", "decisionmakerboughtin": "Decision Maker Bought-In",
    "contractsent": "Contract Sent", "closedwon": "Closed Won", "closedlost": "Closed Lost",
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_DIGITS = re.compile(r"[0-9]{1,19}", re.ASCII)


def changes_from_hubspot_event(tenant: str, event: Mapping[str, Any], context: NormalizedSnapshot | None,
                               fields: HubSpotFields | None = None,
                               stage_labels: Mapping[str, str] | None = None) -> list[FieldChange]:
    """The changes one HubSpot event means for ``tenant``; [] for properties revloop does not read."""
    if context is not None and context.tenant != tenant:
        raise UnsupportedEvent(f"context snapshot is tenant {context.tenant!r}, not {tenant!r}")
    kind, action = _subscription(event)
    object_ = OBJECTS[kind]
    if action == "associationChange":
        return _association(tenant, event, context)
    entity_id = _object_id(event, "objectId")
    row = _row(context, object_, entity_id)
    account_id = entity_id if object_ == "accounts" else _text(row.get("account_id"))
    base = {"tenant": tenant, "object": object_, "entity_id": entity_id, "account_id": account_id}
    if action == "creation":
        return [] if row else [FieldChange(**base, change=ChangeType.inserted, field=None,
                                           after={KEYS[object_]: entity_id})]
    if action == "deletion":
        return [FieldChange(**base, change=ChangeType.deleted, field=None, before=row or None)]
    name = event.get("propertyName")
    if not isinstance(name, str) or not name:
        raise UnsupportedEvent("a propertyChange event needs a propertyName string")
    raw = event.get("propertyValue")
    if isinstance(raw, bool) or (raw is not None and not isinstance(raw, str | int | float)):
        raise UnsupportedEvent(f"propertyValue of {name!r} must be a string, number or null")
    changes = []
    for spec, after in _canonical_values(object_, name, None if raw is None else str(raw), row, fields,
                                         stage_labels):
        before = row.get(spec.name)
        if after != before:
            changes.append(FieldChange(**base, change=ChangeType.changed, field=spec.name, before=before,
                                       after=after))
    if changes and object_ == "opportunities" and changes[0].field == "stage":
        on = _occurred_on(event)
        if on is not None and on != row.get("stage_changed_on"):
            changes.append(FieldChange(**base, change=ChangeType.changed, field="stage_changed_on",
                                       before=row.get("stage_changed_on"), after=on))
    return changes


def _subscription(event: Mapping[str, Any]) -> tuple[str, str]:
    if not isinstance(event, Mapping):
        raise UnsupportedEvent(f"a HubSpot event must be a JSON object, got {type(event).__name__}")
    subscription = event.get("subscriptionType")
    if not isinstance(subscription, str) or subscription.count(".") != 1:
        raise UnsupportedEvent("a HubSpot event needs a subscriptionType like 'deal.propertyChange'")
    kind, action = subscription.split(".")
    if kind == "object":
        kind = OBJECT_TYPE_IDS.get(str(event.get("objectTypeId")), "")
    if kind not in OBJECTS or action not in ACTIONS:
        raise UnsupportedEvent(f"unsupported HubSpot subscription {subscription!r}; handled: "
                               f"{sorted(OBJECTS)} x {list(ACTIONS)}")
    return kind, action


def _object_id(event: Mapping[str, Any], name: str) -> str:
    value = event.get(name)
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
    if not _DIGITS.fullmatch(text):
        raise UnsupportedEvent(f"HubSpot event field {name!r} must be a numeric object id")
    return text


def _row(context: NormalizedSnapshot | None, object_: str, entity_id: str) -> dict[str, Any]:
    if context is None:
        return {}
    key = KEYS[object_]
    found = context.table(object_).filter(pl.col(key).cast(pl.String) == entity_id).head(1).to_dicts()
    if not found:
        return {}
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in found[0].items() if k != "tenant"}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


_DERIVED_FROM = {"revloop.stage_label": "dealstage", "revloop.buying_role": "hs_buying_role"}
_PORTAL_PROPERTIES = {("accounts", "arr"): "arr", ("accounts", "seats_licensed"): "seats_licensed",
                      ("accounts", "renewal_date"): "renewal_date", ("contacts", "status"): "contact_status"}


def _property_specs(object_: str, fields: HubSpotFields | None) -> dict[str, ColumnSpec]:
    """HubSpot property name -> the canonical column it feeds. ``revloop.*`` columns the connector
    derives from a property map to that property; portal-specific ones to the configured name;
    ones derived from lookups the webhook cannot make (owner email, stage entry date) to none."""
    found: dict[str, ColumnSpec] = {}
    for spec in MAPPINGS["hubspot"][object_].columns:
        for source in (spec.source,) if isinstance(spec.source, str) else spec.source:
            if source.startswith("revloop."):
                portal = _PORTAL_PROPERTIES.get((object_, spec.name))
                source = _DERIVED_FROM.get(source) or (getattr(fields, portal, None) if portal else None)
            if source and source != "id":
                found[source] = spec
    return found


def _canonical_values(object_: str, name: str, raw: str | None, row: dict[str, Any],
                      fields: HubSpotFields | None, stage_labels: Mapping[str, str] | None
                      ) -> list[tuple[ColumnSpec, Any]]:
    spec = _property_specs(object_, fields).get(name)
    if spec is None:
        return []
    if spec.name == "stage" and raw is not None:
        raw = {**DEFAULT_STAGE_LABELS, **(stage_labels or {})}.get(raw, raw)
    elif spec.name == "role":
        from connectors.hubspot.rows import primary_buying_role

        raw = primary_buying_role(raw)
    elif spec.name == "name" and isinstance(spec.source, tuple):
        current = str(row.get("name") or "").split(" ", 1)
        first, last = (current + [""])[:2]
        parts = [raw or "", last] if name == spec.source[0] else [first, raw or ""]
        raw = " ".join(p.strip() for p in parts if p and p.strip()) or None
    return [(spec, canonical_value(spec, raw))]


def canonical_value(spec: ColumnSpec, raw: str | None) -> Any:
    """One raw property value as normalize would store it; UnsupportedEvent where it would quarantine."""
    text = raw.strip() if raw is not None else ""
    if not text:
        return None
    kind = spec.kind
    value: Any = text
    if kind == "email":
        value = text.lower() if _EMAIL.fullmatch(text) else None
    elif kind == "domain":
        value = re.sub(r"/.*$", "", re.sub(r"^www\.", "", re.sub(r"^[a-z]+://", "", text.lower())))
    elif kind == "slug":
        value = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    elif kind in ("float", "int"):
        value = _number(text, whole=kind == "int")
    elif kind == "date":
        value = _date(text)
    elif kind == "enum":
        slug = re.sub(r"[^a-z0-9]+", "_", spec.labels.get(text.lower(), text.lower())).strip("_")
        value = slug if slug in spec.allowed else None
    if value is None:
        raise UnsupportedEvent(f"invalid_value: {spec.name} = {text[:80]!r} is not a valid {kind}")
    if kind in ("float", "int") and not ((spec.lo is None or value >= spec.lo)
                                         and (spec.hi is None or value <= spec.hi)):
        raise UnsupportedEvent(f"absurd_value: {spec.name} = {value} outside [{spec.lo}, {spec.hi}]")
    return value


def _number(text: str, whole: bool) -> float | int | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    if not whole:
        return number
    return int(number) if number == round(number) and abs(number) < 9e15 else None


def _date(text: str) -> str | None:
    try:
        if _DIGITS.fullmatch(text):  # HubSpot sends date and datetime properties as epoch milliseconds
            return datetime.fromtimestamp(int(text) / 1000, UTC).date().isoformat()
        return date.fromisoformat(text[:10]).isoformat()
    except (ValueError, OverflowError, OSError):
        return None


def _occurred_on(event: Mapping[str, Any]) -> str | None:
    at = event.get("occurredAt")
    return _date(str(at)) if isinstance(at, int) and not isinstance(at, bool) else None


_ASSOCIATIONS = {"CONTACT_TO_COMPANY": ("contacts", False), "COMPANY_TO_CONTACT": ("contacts", True),
                 "DEAL_TO_COMPANY": ("opportunities", False), "COMPANY_TO_DEAL": ("opportunities", True)}


def _association(tenant: str, event: Mapping[str, Any], context: NormalizedSnapshot | None
                 ) -> list[FieldChange]:
    """A contact's or deal's company link added or removed: its account_id, as the pull would pick
    it (the primary association wins; a removed link clears the account only if it was that one)."""
    kind = event.get("associationType")
    if not isinstance(kind, str):
        raise UnsupportedEvent("an associationChange event needs an associationType string")
    from_id, to_id = _object_id(event, "fromObjectId"), _object_id(event, "toObjectId")
    if kind not in _ASSOCIATIONS:
        return []  # links revloop does not model (contact-deal, tickets, ...)
    object_, reversed_ = _ASSOCIATIONS[kind]
    entity_id, company_id = (to_id, from_id) if reversed_ else (from_id, to_id)
    removed = event.get("associationRemoved") is True
    row = _row(context, object_, entity_id)
    before = row.get("account_id")
    if removed:
        after = None if before == company_id else before
    else:
        after = company_id if event.get("isPrimaryAssociation") is True or before is None else before
    if after == before:
        return []
    return [FieldChange(tenant=tenant, object=object_, entity_id=entity_id, account_id=after or before,
                        change=ChangeType.changed, field="account_id", before=before, after=after)]
