"""Salesforce write-back through simple-salesforce against a requests adapter serving sObject REST."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
import requests
from requests.adapters import BaseAdapter

from actions.crm import CrmConflictError
from actions.errors import IdempotencyConflictError
from actions.salesforce_writer import SalesforceCrmWriter, SalesforceWriteApi
from connectors.credentials import SalesforceCredentials
from connectors.retry import RetryPolicy

INSTANCE = "https://acme.my.salesforce.com"
BASE = "/services/data/v62.0/sobjects/"
EXT = "Revloop_Idempotency_Key__c"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class FakeOrg(BaseAdapter):
    records: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    mutations: int = 0
    now: datetime = T0 + timedelta(hours=1)
    requests_seen: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def put(self, sobject: str, id_: str, **values: Any) -> None:
        self.records.setdefault(sobject, {})[id_] = {
            "attributes": {"type": sobject}, "Id": id_, "LastModifiedDate": stamp(T0), **values}

    def _respond(self, request: requests.PreparedRequest, status: int, body: Any = None,
                 headers: dict[str, str] | None = None) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode() if body is not None else b""
        response.headers.update({"Content-Type": "application/json", **(headers or {})})
        response.url = str(request.url)
        response.request = request
        return response

    def _touch(self, record: dict[str, Any], values: dict[str, Any]) -> None:
        self.mutations += 1
        self.now += timedelta(minutes=1)
        record.update(values, LastModifiedDate=stamp(self.now))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        assert request.headers["Authorization"] == "Bearer 00Dsession"
        path = unquote(urlparse(str(request.url)).path)
        self.requests_seen.append(f"{request.method} {path}")
        if self.failures:
            status, body, headers = self.failures.pop(0)
            return self._respond(request, status, body, headers)
        sobject, *rest = path.removeprefix(BASE).split("/")
        table = self.records.setdefault(sobject, {})
        data = json.loads(request.body or b"{}")
        if len(rest) == 2:  # <ExternalField>/<value>: upsert or read by external id
            found = next((r for r in table.values() if r.get(rest[0]) == rest[1]), None)
            if request.method == "GET":
                return self._respond(request, 200, found) if found else self._respond(request, 404, [
                    {"errorCode": "NOT_FOUND", "message": "not found"}])
            if found is not None:
                self._touch(found, data)
                return self._respond(request, 200, {"id": found["Id"], "success": True, "created": False})
            new_id = f"00T{len(table) + 1:03d}"
            table[new_id] = {"attributes": {"type": sobject}, "Id": new_id, rest[0]: rest[1]}
            self._touch(table[new_id], data)
            return self._respond(request, 201, {"id": new_id, "success": True, "created": True})
        record = table.get(rest[0])
        if record is None:
            return self._respond(request, 404, [{"errorCode": "NOT_FOUND", "message": "not found"}])
        if request.method == "GET":
            return self._respond(request, 200, record)
        since = request.headers.get("If-Unmodified-Since")
        modified = datetime.strptime(record["LastModifiedDate"], "%Y-%m-%dT%H:%M:%S.%f%z")
        if since and modified > parsedate_to_datetime(since):
            return self._respond(request, 412, [{"errorCode": "PRECONDITION_FAILED", "message": "modified"}])
        self._touch(record, data)
        return self._respond(request, 204)

    def close(self) -> None:
        pass


@pytest.fixture
def org() -> tuple[FakeOrg, SalesforceCrmWriter, list[float]]:
    fake = FakeOrg()
    session = requests.Session()
    session.mount(INSTANCE, fake)
    slept: list[float] = []
    api = SalesforceWriteApi(SalesforceCredentials(instance_url=INSTANCE, session_id="00Dsession"),
                             session=session, retry=RetryPolicy(max_attempts=4), sleep=slept.append)
    return fake, SalesforceCrmWriter({"acme": api}), slept


def test_task_create_is_an_upsert_on_the_idempotency_external_id(org: Any) -> None:
    fake, writer, _ = org
    first = writer.create_task("acme", "001A0", "Call the champion", "Usage fell", "2025-03-04", None, "k-1")
    again = writer.create_task("acme", "001A0", "Call the champion", "Usage fell", "2025-03-04", None, "k-1")
    assert first.created and not again.created and first.external_id == again.external_id
    [task] = fake.records["Task"].values()
    assert task[EXT] == "k-1" and task["WhatId"] == "001A0" and task["ActivityDate"] == "2025-03-04"
    assert f"PATCH {BASE}Task/{EXT}/k-1" in fake.requests_seen
    assert len(fake.records["Task"]) == 1


def test_the_same_key_with_other_values_is_refused(org: Any) -> None:
    fake, writer, _ = org
    writer.create_task("acme", "001A0", "Call the champion", "", None, None, "k-9")
    with pytest.raises(IdempotencyConflictError, match="Subject"):
        writer.create_task("acme", "001A0", "Mark the deal won", "", None, None, "k-9")
    assert fake.mutations == 1 and fake.records["Task"]["00T001"]["Subject"] == "Call the champion"


def test_upsert_is_retried_on_429_and_5xx(org: Any) -> None:
    fake, writer, slept = org
    limit = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn"}]
    fake.failures += [(429, limit, {"Retry-After": "1"}),
                      (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "x"}], {})]
    result = writer.create_task("acme", "001A0", "Call", "", None, None, "k-2")
    assert result.created and len(fake.records["Task"]) == 1 and len(slept) == 2


def test_update_is_conditional_on_last_modified_date(org: Any) -> None:
    fake, writer, _ = org
    fake.put("Account", "001A0", Industry="Retail", Name="Acme")
    record = writer.get_record("acme", "accounts", "001A0")
    assert record["industry"] == "Retail" and record["version"] == int(T0.timestamp() * 1000)
    out = writer.update_field("acme", "accounts", "001A0", "industry", "Aerospace", "k-3",
                              expected_version=record["version"])
    assert out.before["Industry"] == "Retail" and out.after["Industry"] == "Aerospace"
    assert out.after["version"] > record["version"] and fake.mutations == 1
    again = writer.update_field("acme", "accounts", "001A0", "industry", "Aerospace", "k-3",
                                expected_version=record["version"])
    assert not again.created and fake.mutations == 1
    with pytest.raises(CrmConflictError):
        writer.update_field("acme", "accounts", "001A0", "industry", "Mining", "k-4",
                            expected_version=record["version"])
    assert fake.records["Account"]["001A0"]["Industry"] == "Aerospace"


def test_a_write_landing_between_read_and_patch_is_refused_by_the_precondition(org: Any) -> None:
    fake, writer, _ = org
    fake.put("Opportunity", "006O1", StageName="Prospecting")
    api = writer.orgs["acme"]
    read = api.get

    def read_then_someone_writes(sobject: str, record_id: str) -> Any:
        found = read(sobject, record_id)
        fake.records[sobject][record_id]["LastModifiedDate"] = stamp(T0 + timedelta(minutes=5))
        return found

    api.get = read_then_someone_writes  # type: ignore[method-assign]
    with pytest.raises(CrmConflictError):
        writer.update_field("acme", "opportunities", "006O1", "stage", "Closed Won", "k-5",
                            expected_version=int(T0.timestamp() * 1000))
    assert fake.records["Opportunity"]["006O1"]["StageName"] == "Prospecting"


def test_close_task_and_missing_records(org: Any) -> None:
    fake, writer, _ = org
    task = writer.create_task("acme", "001A0", "Call", "", None, None, "k-6")
    assert writer.close_task("acme", task.external_id, "undo:k-6").after["Status"] == "Completed"
    assert writer.get_record("acme", "accounts", "001MISSING") is None
    with pytest.raises(ValueError, match="no Salesforce org"):
        writer.get_record("globex", "accounts", "001A0")
