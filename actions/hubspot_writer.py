"""CRM write-back to HubSpot (hubspot-api-client): tasks and notes on a company, property updates.

HubSpot has no idempotency header, so every created task or note carries the idempotency key in a
custom property (``idempotency_property``, default ``revloop_idempotency_key``; create it on tasks
and notes as single-line text, ideally with unique values). Before creating, the writer searches for
a record holding the key and returns it instead (a retry after a crash, whose first attempt may have
written). Updates check ``hs_lastmodifieddate`` (as epoch milliseconds: the record version a reviewer
was shown) before writing; HubSpot has no conditional PATCH, so a write landing between that read and
the PATCH is not detected. Calls are throttled and retried on 429/5xx (connectors.retry)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from actions.crm import CrmConflictError, CrmWrite, TenantClients, epoch_ms
from actions.errors import IdempotencyConflictError
from connectors.hubspot.api import HubSpotApi, HubSpotRequestFailed, Json
from connectors.hubspot.connector import _instant

# Canonical object and field names (perception's) -> HubSpot's; other names pass through unchanged.
OBJECTS = {"accounts": "companies", "opportunities": "deals", "contacts": "contacts", "tasks": "tasks",
           "notes": "notes"}
FIELDS = {
    "companies": {"owner_email": "hubspot_owner_id", "arr": "annualrevenue"},
    "deals": {"name": "dealname", "stage": "dealstage", "close_date": "closedate",
              "owner_email": "hubspot_owner_id"},
    "contacts": {"first_name": "firstname", "last_name": "lastname", "title": "jobtitle"},
    "tasks": {"subject": "hs_task_subject", "body": "hs_task_body", "status": "hs_task_status"},
}
# HubSpot-defined association type ids (v4): task -> company, note -> company.
TASK_TO_COMPANY = 192
NOTE_TO_COMPANY = 190
MODIFIED = "hs_lastmodifieddate"



class HubSpotWriteApi(HubSpotApi):
    """The object endpoints a write needs, with the pull API's throttle, retries and error hints."""

    def get(self, object_type: str, object_id: str, properties: list[str]) -> Json:
        return self._call(f"HubSpot {object_type} {object_id} read", self._objects.get_by_id,
                          object_type, object_id, properties=properties, archived=False)

    def create(self, object_type: str, body: Json) -> Json:
        return self._call(f"HubSpot {object_type} create", self._objects.create, object_type, body)

    def update(self, object_type: str, object_id: str, properties: Json) -> Json:
        return self._call(f"HubSpot {object_type} {object_id} update", self._objects.update,
                          object_type, object_id, {"properties": properties})

    def find_by(self, object_type: str, prop: str, value: str, properties: list[str]) -> Json | None:
        request = {"filterGroups": [{"filters": [{"propertyName": prop, "operator": "EQ", "value": value}]}],
                   "properties": properties, "limit": 1}
        found = self.search_page(object_type, request).get("results") or []
        return found[0] if found else None


def version_of(record: Json) -> int | None:
    """The record version revloop binds approvals to: hs_lastmodifieddate in epoch milliseconds."""
    at = _instant((record.get("properties") or {}).get(MODIFIED)) or _instant(record.get("updatedAt"))
    return epoch_ms(at)


class HubSpotCrmWriter:
    """The CrmWriter port on HubSpot; ``portals`` maps each tenant to its portal's API."""

    def __init__(self, portals: Mapping[str, HubSpotWriteApi],
                 idempotency_property: str = "revloop_idempotency_key") -> None:
        self.portals = dict(portals)
        self._api = TenantClients(self.portals, "HubSpot portal")
        self.idempotency_property = idempotency_property

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None:
        kind = _object(object)
        try:
            found = self._api(tenant).get(kind, record_id, [*FIELDS.get(kind, {}).values(), MODIFIED])
        except HubSpotRequestFailed as error:
            if error.status == 404:
                return None
            raise
        return _flat(kind, found)

    def create_task(self, tenant: str, account_id: str, subject: str, body: str, due_date: str | None,
                    owner: str | None, idempotency_key: str) -> CrmWrite:
        due = datetime.fromisoformat(due_date).replace(tzinfo=UTC) if due_date else datetime.now(UTC)
        properties = {"hs_task_subject": subject, "hs_task_body": body, "hs_task_status": "NOT_STARTED",
                      "hs_timestamp": due.strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        if owner and owner.isdigit():
            properties["hubspot_owner_id"] = owner  # HubSpot owners are ids; an email stays in the body
        return self._create(tenant, "tasks", account_id, properties, TASK_TO_COMPANY, idempotency_key)

    def create_note(self, tenant: str, account_id: str, body: str, idempotency_key: str) -> CrmWrite:
        properties = {"hs_note_body": body,
                      "hs_timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")}
        return self._create(tenant, "notes", account_id, properties, NOTE_TO_COMPANY, idempotency_key)

    def close_task(self, tenant: str, task_id: str, idempotency_key: str) -> CrmWrite:
        """Compensation of a created task: mark it completed (it stays visible in the timeline)."""
        api = self._api(tenant)
        before = api.get("tasks", task_id, ["hs_task_status", MODIFIED])
        after = api.update("tasks", task_id, {"hs_task_status": "COMPLETED"})
        return CrmWrite(task_id, False, _flat("tasks", before), _flat("tasks", after))

    def update_field(self, tenant: str, object: str, record_id: str, field: str, value: Any,
                     idempotency_key: str, expected_version: int | None = None) -> CrmWrite:
        kind = _object(object)
        prop = FIELDS.get(kind, {}).get(field, field)
        api = self._api(tenant)
        current = api.get(kind, record_id, [prop, MODIFIED])
        before = _flat(kind, current)
        if expected_version is not None and version_of(current) != expected_version:
            if (current.get("properties") or {}).get(prop) == _text(value):
                return CrmWrite(record_id, False, before, before)  # our own earlier attempt landed
            raise CrmConflictError(
                f"HubSpot {kind} {record_id} is at version {version_of(current)}, not {expected_version}: "
                "it changed since the reviewer saw it; nothing was written, review it again")
        after = api.update(kind, record_id, {prop: _text(value)})
        return CrmWrite(record_id, True, before, _flat(kind, after))

    def _create(self, tenant: str, kind: str, account_id: str, properties: Json, association: int,
                key: str) -> CrmWrite:
        api = self._api(tenant)
        wanted = [*properties, self.idempotency_property]
        existing = api.find_by(kind, self.idempotency_property, key, wanted)
        if existing is not None:
            return _repeat(kind, existing, properties, key)
        body = {"properties": {**properties, self.idempotency_property: key}, "associations": [{
            "to": {"id": account_id},
            "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": association}]}]}
        try:
            created = api.create(kind, body)
        except HubSpotRequestFailed as error:
            if error.status != 409:
                raise
            # The key's unique property already holds it: a concurrent or earlier attempt created it.
            existing = api.find_by(kind, self.idempotency_property, key, wanted)
            if existing is None:
                raise
            return _repeat(kind, existing, properties, key)
        return CrmWrite(str(created["id"]), True, {}, _flat(kind, created))


def _repeat(kind: str, existing: Json, properties: Json, key: str) -> CrmWrite:
    """The record an earlier attempt created under ``key``, if it holds what this request asks for."""
    held = existing.get("properties") or {}
    differs = sorted(p for p, v in properties.items() if p != "hs_timestamp" and p in held and held[p] != v)
    if differs:
        raise IdempotencyConflictError(
            f"idempotency key {key!r} already created {kind} {existing.get('id')} with other values "
            f"({', '.join(differs)}); use a new key for a new write")
    return CrmWrite(str(existing["id"]), False, {}, _flat(kind, existing))


def _object(name: str) -> str:
    return OBJECTS.get(name, name)


def _text(value: Any) -> str:
    """HubSpot stores every property as a string (booleans as 'true'/'false')."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _flat(kind: str, record: Json) -> dict[str, Any]:
    properties = dict(record.get("properties") or {})
    canonical = {name: properties[prop] for name, prop in FIELDS.get(kind, {}).items() if prop in properties}
    return {**properties, **canonical, "id": str(record.get("id", "")), "version": version_of(record)}
