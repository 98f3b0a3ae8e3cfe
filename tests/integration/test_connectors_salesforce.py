"""SalesforceConnector through simple-salesforce against a requests adapter serving REST query JSON."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from requests.adapters import BaseAdapter

from connectors.credentials import SalesforceCredentials
from connectors.cursors import CursorStore, commit_pull
from connectors.object_store import LocalObjectStore
from connectors.retry import RetriesExhausted, RetryPolicy
from connectors.salesforce import (
    SalesforceApi,
    SalesforceConnector,
    SalesforceFields,
    SalesforceRequestFailed,
)
from ledger.sql import sqlite_url
from perception.mappings_salesforce import SALESFORCE
from perception.normalize import normalize

INSTANCE = "https://acme.my.salesforce.com"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def sobject(kind: str, id_: str, modified: datetime, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": kind, "url": f"/services/data/v62.0/sobjects/{kind}/{id_}"},
            "Id": id_, "SystemModstamp": stamp(modified), **fields}


def owner(email: str) -> dict[str, Any]:
    return {"attributes": {"type": "User", "url": "/services/data/v62.0/sobjects/User/005x"}, "Email": email}


@dataclass
class FakeOrg(BaseAdapter):
    """Serves /query and nextRecordsUrl pages; ``failures`` are (status, body, headers) served first."""

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_size: int = 2
    failures: list[tuple[int, Any, dict[str, str]]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)
    calls: int = 0
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__()

    def _respond(self, request: requests.PreparedRequest, status: int, body: Any,
                 headers: dict[str, str] | None = None) -> requests.Response:
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers.update({"Content-Type": "application/json", **(headers or {})})
        response.url = str(request.url)
        response.request = request
        return response

    def _page(self, request: requests.PreparedRequest, rows: list[dict[str, Any]], start: int,
              locator: str) -> requests.Response:
        end = start + self.page_size
        body: dict[str, Any] = {"totalSize": len(rows), "done": end >= len(rows), "records": rows[start:end]}
        if end < len(rows):
            self.cursors[locator] = rows
            body["nextRecordsUrl"] = f"/services/data/v62.0/query/{locator}-{end}"
        return self._respond(request, 200, body)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.calls += 1
        assert request.headers["Authorization"] == "Bearer 00Dsession!token"
        if self.failures:
            status, body, headers = self.failures.pop(0)
            return self._respond(request, status, body, headers)
        url = urlparse(str(request.url))
        if "q" in parse_qs(url.query):
            soql = parse_qs(url.query)["q"][0]
            self.queries.append(soql)
            kind = re.search(r"FROM (\w+)", soql).group(1)  # type: ignore[union-attr]
            since = re.search(r"SystemModstamp > (\S+)", soql)
            rows = sorted(self.records.get(kind, []), key=lambda r: (r["SystemModstamp"], r["Id"]))
            if since:
                bound = datetime.fromisoformat(since.group(1).replace("Z", "+00:00"))
                rows = [r for r in rows if datetime.fromisoformat(r["SystemModstamp"]) > bound]
            return self._page(request, rows, 0, f"01g{kind}{len(self.queries)}")
        locator, start = url.path.rsplit("/", 1)[1].rsplit("-", 1)
        return self._page(request, self.cursors[locator], int(start), locator)

    def close(self) -> None:
        pass


def seed(org: FakeOrg) -> None:
    org.records = {
        "Account": [sobject("Account", f"001A{i}", T0 + timedelta(minutes=i), Name=f"Account {i}",
                            Website=f"www.a{i}.test", Industry="Computer Software",
                            Owner=owner("Rep@Acme.test"), ARR__c=1000.0 * (i + 1)) for i in range(5)],
        "Contact": [sobject("Contact", "003C1", T0, AccountId="001A0", FirstName="Ada", LastName="Byron",
                            Email="ada@a0.test", Title="CTO", Buying_Role__c="Economic Buyer",
                            Status__c="No longer at company")],
        "Opportunity": [sobject("Opportunity", "006O1", T0, AccountId="001A0", Name="Renewal",
                                StageName="Negotiation/Review", Amount=5000.0, CloseDate="2025-06-30",
                                Owner=None, LastStageChangeDate="2025-02-20T08:00:00.000+0000")],
        "Task": [sobject("Task", "00TT1", T0, AccountId="001A0", WhatId="006O1", WhoId="003C1",
                         Subject="Discovery call", Type="Call", TaskSubtype="Call", CallType="Inbound",
                         ActivityDate="2025-02-27", CompletedDateTime="2025-02-28T10:00:00.000+0000",
                         CreatedDate="2025-02-26T10:00:00.000+0000"),
                 sobject("Task", "00TT2", T0, AccountId="001A1", WhatId="001A1", WhoId="00QLEAD",
                         Subject="Meet", Type="Meeting", TaskSubtype="Task", ActivityDate=None,
                         CompletedDateTime=None, CreatedDate="2025-02-25T10:00:00.000+0000")],
    }


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def connector(org: FakeOrg, clock: Clock, cursors: CursorStore | None = None,
              retry: RetryPolicy | None = None) -> SalesforceConnector:
    session = requests.Session()
    session.mount("https://", org)
    api = SalesforceApi(SalesforceCredentials(instance_url=INSTANCE, session_id="00Dsession!token"),
                        session=session, retry=retry or RetryPolicy(), sleep=clock.sleep)
    fields = SalesforceFields(arr="ARR__c", contact_role="Buying_Role__c", contact_status="Status__c")
    return SalesforceConnector(api, cursors=cursors, fields=fields, now=clock.now)


def test_full_pull_follows_next_records_url_and_normalizes() -> None:
    org = FakeOrg()
    seed(org)
    snapshot = connector(org, Clock()).pull("acme")
    assert snapshot.complete and snapshot.objects["accounts"].height == 5
    assert org.queries[0] == ("SELECT Id, Name, Website, Industry, Owner.Email, SystemModstamp, ARR__c FROM "
                              "Account ORDER BY SystemModstamp, Id")
    assert snapshot.cursors["Account"] == T0 + timedelta(minutes=4)

    ns = normalize(snapshot, SALESFORCE)
    assert ns.quarantine.height == 0, ns.quarantine.to_dicts()
    account = ns.table("accounts").sort("account_id").row(0, named=True)
    assert (account["domain"], account["industry"], account["owner_email"], account["arr"]) == \
        ("a0.test", "computer_software", "rep@acme.test", 1000.0)
    contact = ns.table("contacts").row(0, named=True)
    assert (contact["role"], contact["status"]) == ("economic_buyer", "departed")
    deal = ns.table("opportunities").row(0, named=True)
    assert (deal["stage"], str(deal["stage_changed_on"]), deal["owner_email"]) == \
        ("negotiation", "2025-02-20", None)
    tasks = {r["activity_id"]: r for r in ns.table("activities").to_dicts()}
    assert (tasks["00TT1"]["type"], tasks["00TT1"]["direction"], str(tasks["00TT1"]["occurred_on"])) == \
        ("call", "inbound", "2025-02-28")
    assert (tasks["00TT1"]["opportunity_id"], tasks["00TT1"]["contact_id"]) == ("006O1", "003C1")
    assert (tasks["00TT2"]["type"], tasks["00TT2"]["direction"], tasks["00TT2"]["contact_id"]) == \
        ("meeting", "internal", None)


def test_incremental_pull_selects_changes_since_the_committed_cursor(tmp_path: Path) -> None:
    org = FakeOrg()
    seed(org)
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    clock = Clock()
    commit_pull(connector(org, clock, cursors).pull("acme"), LocalObjectStore(tmp_path / "lake"), cursors)
    changed = T0 + timedelta(hours=1)
    org.records["Account"][2] = sobject("Account", "001A2", changed, Name="Renamed", Owner=None)
    org.queries.clear()
    clock.at += timedelta(hours=2)
    snapshot = connector(org, clock, cursors).pull("acme")
    assert "WHERE SystemModstamp > 2025-03-01T09:04:00Z" in org.queries[0]
    assert snapshot.objects["accounts"]["Id"].to_list() == ["001A2"]
    assert snapshot.objects["contacts"].height == 0 and not snapshot.complete
    commit_pull(snapshot, LocalObjectStore(tmp_path / "lake"), cursors)
    assert cursors.get("acme", "salesforce")["Account"] == changed

    full = connector(org, clock, cursors).pull("acme", full=True)
    assert full.complete and full.objects["accounts"].height == 5


def test_429_with_retry_after_and_concurrent_limit_are_waited_out() -> None:
    org = FakeOrg()
    seed(org)
    org.failures = [
        (429, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "ConcurrentPerOrgLongTxn Limit exceeded"}],
         {"Retry-After": "9"}),
        (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "down for maintenance"}], {}),
    ]
    clock = Clock()
    assert connector(org, clock).pull("acme").objects["accounts"].height == 5
    assert 9.0 <= clock.slept[0] < 9.5 and len(clock.slept) == 2


def test_page_failures_retry_that_page_and_exhaustion_names_the_object() -> None:
    org = FakeOrg()
    seed(org)
    org.failures = [(503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "down"}], {})] * 3
    with pytest.raises(RetriesExhausted, match=r"Salesforce Account query: gave up after 3 .*HTTP 503"):
        connector(org, Clock(), retry=RetryPolicy(max_attempts=3)).pull("acme")
    assert org.calls == 3


def test_daily_limit_and_expired_session_fail_at_once() -> None:
    org = FakeOrg()
    seed(org)
    daily = [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}]
    org.failures = [(403, daily, {})]
    with pytest.raises(SalesforceRequestFailed, match="24-hour API request limit"):
        connector(org, Clock()).pull("acme")
    org.failures = [(401, [{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}], {})]
    with pytest.raises(SalesforceRequestFailed, match="session is invalid or expired"):
        connector(org, Clock()).pull("acme")
    assert org.calls == 2


def test_malformed_records_are_quarantined_and_the_rest_proceed() -> None:
    org = FakeOrg()
    seed(org)
    org.records["Opportunity"] += [
        sobject("Opportunity", "006O2", T0, AccountId="001A0", Name="Bad amount", StageName="Closed Won",
                Amount="lots", CloseDate="2025-06-30"),
        sobject("Opportunity", "006O3", T0, AccountId=None, Name="Orphan", StageName="Prospecting"),
        sobject("Opportunity", "006O4", T0, AccountId="001A0", Name="Huge", StageName="Prospecting",
                Amount=1e15),
    ]
    ns = normalize(connector(org, Clock()).pull("acme"), SALESFORCE)
    reasons = {r["entity_id"]: r["reason"] for r in ns.quarantine.to_dicts()}
    assert reasons["006O2"] == "invalid_type: amount is not a number"
    assert reasons["006O3"] == "missing_id"
    assert reasons["006O4"].startswith("absurd_value: amount")
    assert ns.table("opportunities")["opportunity_id"].to_list() == ["006O1"]
