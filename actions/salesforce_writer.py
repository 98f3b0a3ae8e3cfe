"""CRM write-back to Salesforce (simple-salesforce): Task creation and sObject field updates.

Tasks are upserted on an External ID field holding the idempotency key (``idempotency_field``,
default ``Revloop_Idempotency_Key__c``: a Text External ID, unique, on Task), so Salesforce itself
makes a repeated create update the same Task instead of adding one. Updates are conditional: the
record's LastModifiedDate (epoch milliseconds: the version the reviewer was shown) is checked, and the
PATCH carries ``If-Unmodified-Since`` so a write that lands in between is refused with 412 too.
Calls are retried on 429/5xx and transient limits (connectors.retry, via the pull API's classifier)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from actions.crm import CrmConflictError, CrmWrite, TenantClients, epoch_ms
from actions.errors import IdempotencyConflictError
from connectors.salesforce.api import Json, SalesforceApi, SalesforceRequestFailed

SOBJECTS = {"accounts": "Account", "opportunities": "Opportunity", "contacts": "Contact", "tasks": "Task"}
FIELDS = {
    "Account": {"name": "Name", "industry": "Industry", "arr": "AnnualRevenue", "domain": "Website"},
    "Opportunity": {"name": "Name", "stage": "StageName", "amount": "Amount", "close_date": "CloseDate"},
    "Contact": {"first_name": "FirstName", "last_name": "LastName", "email": "Email", "title": "Title"},
    "Task": {"subject": "Subject", "body": "Description", "status": "Status", "due_date": "ActivityDate"},
}



class SalesforceWriteApi(SalesforceApi):
    """sObject reads and writes with the pull API's login, retries and error hints."""

    def get(self, sobject: str, record_id: str) -> Json:
        return self._call(f"Salesforce {sobject} {record_id} read",
                          lambda sf: getattr(sf, sobject).get(record_id))

    def upsert(self, sobject: str, external_field: str, external_id: str, data: Json) -> Json:
        def call(sf: Any) -> Json:
            response = getattr(sf, sobject).upsert(f"{external_field}/{external_id}", data, raw_response=True)
            body = response.json() if response.content else {}
            return {"status": response.status_code, **(body if isinstance(body, dict) else {})}

        return self._call(f"Salesforce {sobject} upsert on {external_field}", call)

    def get_by_external_id(self, sobject: str, external_field: str, external_id: str) -> Json:
        return self._call(f"Salesforce {sobject} read by {external_field}",
                          lambda sf: getattr(sf, sobject).get_by_custom_id(external_field, external_id))

    def update(self, sobject: str, record_id: str, data: Json, unmodified_since: datetime | None) -> None:
        headers = {"If-Unmodified-Since": format_datetime(unmodified_since, usegmt=True)} \
            if unmodified_since else None
        self._call(f"Salesforce {sobject} {record_id} update",
                   lambda sf: {"status": getattr(sf, sobject).update(record_id, data, headers=headers)})


def modified_at(record: Json) -> datetime | None:
    value = record.get("LastModifiedDate")
    if not isinstance(value, str) or not value:
        return None
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)


def version_of(record: Json) -> int | None:
    """The record version revloop binds approvals to: LastModifiedDate in epoch milliseconds."""
    at = modified_at(record)
    return epoch_ms(at)


class SalesforceCrmWriter:
    """The CrmWriter port on Salesforce; ``orgs`` maps each tenant to its org's API."""

    def __init__(self, orgs: Mapping[str, SalesforceWriteApi],
                 idempotency_field: str = "Revloop_Idempotency_Key__c") -> None:
        self.orgs = dict(orgs)
        self._api = TenantClients(self.orgs, "Salesforce org")
        self.idempotency_field = idempotency_field

    def get_record(self, tenant: str, object: str, record_id: str) -> dict[str, Any] | None:
        sobject = _sobject(object)
        try:
            return _flat(sobject, self._api(tenant).get(sobject, record_id))
        except SalesforceRequestFailed as error:
            if error.status == 404:
                return None
            raise

    def create_task(self, tenant: str, account_id: str, subject: str, body: str, due_date: str | None,
                    owner: str | None, idempotency_key: str) -> CrmWrite:
        data: Json = {"Subject": subject, "Description": body, "WhatId": account_id, "Status": "Not Started"}
        if due_date:
            data["ActivityDate"] = due_date
        if owner and owner.startswith("005"):
            data["OwnerId"] = owner  # a User id; an email address stays in the description
        api = self._api(tenant)
        existing = self._by_key(api, idempotency_key)
        if existing is not None:
            differs = sorted(k for k, v in data.items() if k in existing and existing[k] != v)
            if differs:
                raise IdempotencyConflictError(
                    f"idempotency key {idempotency_key!r} already created Task {existing['Id']} with other "
                    f"values ({', '.join(differs)}); use a new key for a new write")
            return CrmWrite(str(existing["Id"]), False, {}, _flat("Task", existing))
        # The upsert still guards a concurrent create: the External ID is unique, so both land on one Task.
        answer = api.upsert("Task", self.idempotency_field, idempotency_key, data)
        created = answer.get("status") == 201 or answer.get("created") is True
        task_id = answer.get("id")
        if not task_id:  # older API versions answer an update of an upsert with 204 and no body
            task_id = api.get_by_external_id("Task", self.idempotency_field, idempotency_key)["Id"]
        after = {**data, "id": str(task_id), self.idempotency_field: idempotency_key}
        return CrmWrite(str(task_id), created, {}, after)

    def _by_key(self, api: SalesforceWriteApi, key: str) -> Json | None:
        try:
            return api.get_by_external_id("Task", self.idempotency_field, key)
        except SalesforceRequestFailed as error:
            if error.status == 404:
                return None
            raise

    def close_task(self, tenant: str, task_id: str, idempotency_key: str) -> CrmWrite:
        """Compensation of a created task: set it Completed."""
        api = self._api(tenant)
        before = _flat("Task", api.get("Task", task_id))
        api.update("Task", task_id, {"Status": "Completed"}, None)
        return CrmWrite(task_id, False, before, _flat("Task", api.get("Task", task_id)))

    def update_field(self, tenant: str, object: str, record_id: str, field: str, value: Any,
                     idempotency_key: str, expected_version: int | None = None) -> CrmWrite:
        sobject = _sobject(object)
        name = FIELDS.get(sobject, {}).get(field, field)
        api = self._api(tenant)
        current = api.get(sobject, record_id)
        before = _flat(sobject, current)
        since = None
        if expected_version is not None:
            if version_of(current) != expected_version:
                if current.get(name) == value:
                    return CrmWrite(record_id, False, before, before)  # our earlier attempt landed
                raise _conflict(sobject, record_id, version_of(current), expected_version)
            since = modified_at(current)
        try:
            api.update(sobject, record_id, {name: value}, since)
        except SalesforceRequestFailed as error:
            if error.status == 412:
                raise _conflict(sobject, record_id, None, expected_version) from error
            raise
        return CrmWrite(record_id, True, before, _flat(sobject, api.get(sobject, record_id)))


def _conflict(sobject: str, record_id: str, found: int | None, expected: int | None) -> CrmConflictError:
    at = f"at version {found}" if found is not None else "modified"
    return CrmConflictError(f"Salesforce {sobject} {record_id} is {at}, not {expected}: it changed since "
                            "the reviewer saw it; nothing was written, review it again")


def _sobject(name: str) -> str:
    return SOBJECTS.get(name, name)


def _flat(sobject: str, record: Json) -> dict[str, Any]:
    fields = {k: v for k, v in record.items() if k != "attributes"}
    canonical = {name: fields[api] for name, api in FIELDS.get(sobject, {}).items() if api in fields}
    return {**fields, **canonical, "id": str(record.get("Id", "")), "version": version_of(record)}
