"""HubSpotConnector against a loopback server speaking HubSpot's v3/v4 JSON (the real SDK in between)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

import connectors.hubspot.connector as hubspot_connector
from connectors.credentials import HubSpotCredentials
from connectors.cursors import CursorStore, commit_pull
from connectors.hubspot import HubSpotApi, HubSpotConnector, HubSpotFields, HubSpotRequestFailed
from connectors.object_store import LocalObjectStore
from connectors.retry import RetriesExhausted, RetryPolicy
from ledger.sql import sqlite_url
from perception.mappings_hubspot import HUBSPOT
from perception.normalize import normalize

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def record(id_: str, modified: datetime, **properties: str | None) -> dict[str, Any]:
    key = "lastmodifieddate" if "email" in properties else "hs_lastmodifieddate"
    return {"id": id_, "createdAt": _iso(T0), "updatedAt": _iso(modified), "archived": False,
            "properties": {**properties, key: _iso(modified)}}


@dataclass
class Failure:
    path: str  # prefix of the request path it applies to
    status: int
    body: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakePortal:
    """What the fake HubSpot serves; tests edit it between pulls."""

    objects: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    links: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    page_size: int = 2
    failures: list[Failure] = field(default_factory=list)
    log: list[str] = field(default_factory=list)
    seen_auth: set[str] = field(default_factory=set)

    def modified(self, object_type: str, rec: dict[str, Any]) -> str:
        key = "lastmodifieddate" if object_type == "contacts" else "hs_lastmodifieddate"
        return rec["properties"][key]


def _page(items: list[Any], after: str | None, size: int) -> dict[str, Any]:
    start = int(after or 0)
    body: dict[str, Any] = {"results": items[start:start + size]}
    if start + size < len(items):
        body["paging"] = {"next": {"after": str(start + size), "link": "?after=..."}}
    return body


def _handler(portal: FakePortal) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            portal.log.append(f"{method} {url.path}")
            portal.seen_auth.add(self.headers.get("Authorization", ""))
            for failure in list(portal.failures):
                if url.path.startswith(failure.path):
                    portal.failures.remove(failure)
                    return self._send(failure.status, failure.body, failure.headers)
            parts = url.path.strip("/").split("/")
            if url.path == "/crm/v3/pipelines/deals":
                return self._send(200, {"results": [{"id": "default", "label": "Sales Pipeline", "stages": [
                    {"id": "appointmentscheduled", "label": "Appointment Scheduled"},
                    {"id": "contractsent", "label": "Contract Sent"},
                    {"id": "closedwon", "label": "Closed Won"}]}]})
            if url.path.startswith("/crm/v3/owners"):
                owners = [{"id": "7", "email": "Owner@Acme.test"}]
                return self._send(200, _page(owners, query.get("after", [None])[0], 500))
            if parts[:3] == ["crm", "v4", "associations"]:
                table = portal.links.get((parts[3], parts[4]), {})
                found = [{"from": {"id": i["id"]}, "to": table[i["id"]]}
                         for i in body["inputs"] if i["id"] in table]
                return self._send(200, {"status": "COMPLETE", "results": found})
            object_type = parts[3]
            records = portal.objects.get(object_type, [])
            if method == "GET":
                return self._send(200, _page(records, query.get("after", [None])[0], portal.page_size))
            flt = body["filterGroups"][0]["filters"][0]
            since = datetime.fromtimestamp(int(flt["value"]) / 1000, UTC)
            hits = sorted((r for r in records if datetime.fromisoformat(
                portal.modified(object_type, r).replace("Z", "+00:00")) >= since),
                key=lambda r: portal.modified(object_type, r))
            return self._send(200, {"total": len(hits), **_page(hits, body.get("after"), portal.page_size)})

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

    return Handler


@pytest.fixture
def portal() -> Iterator[tuple[FakePortal, str]]:
    state = FakePortal()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def primary(to: str) -> dict[str, Any]:
    return {"toObjectId": int(to), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 1,
                                                         "label": "Primary"}]}


def other(to: str) -> dict[str, Any]:
    return {"toObjectId": int(to), "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 279,
                                                         "label": None}]}


def seed(state: FakePortal) -> None:
    state.objects = {
        "companies": [record(str(100 + i), T0 + timedelta(minutes=10 * i), name=f"Company {i}",
                             domain=f"https://www.c{i}.test", industry="COMPUTER_SOFTWARE",
                             hubspot_owner_id="7", annual_recurring_revenue="1200.5") for i in range(5)],
        "contacts": [record("201", T0, firstname="Ada", lastname="Byron", email="ADA@c0.test",
                            jobtitle="CTO", hs_buying_role="END_USER;CHAMPION", left_company="")],
        "deals": [record("301", T0, dealname="Renewal", dealstage="contractsent", amount="5000",
                         closedate="2025-06-30T00:00:00Z", hubspot_owner_id="7",
                         hs_date_entered_contractsent="2025-02-20T08:00:00Z")],
        "notes": [record("401", T0, hs_timestamp="2025-02-28T10:00:00Z",
                         hs_note_body="<p>Call &amp; demo went <b>well</b></p>")],
        "tasks": [record("402", T0, hs_timestamp="2025-03-02T10:00:00Z", hs_task_subject="Send quote",
                         hs_task_type="TODO")],
    }
    state.links = {
        ("contacts", "companies"): {"201": [other("104"), primary("100")]},
        ("deals", "companies"): {"301": [primary("100")]},
        ("notes", "companies"): {"401": [primary("100")]}, ("notes", "deals"): {"401": [other("301")]},
        ("tasks", "companies"): {"402": [primary("101")]}, ("tasks", "contacts"): {"402": [other("201")]},
    }


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def monotonic(self) -> float:  # time passes only by sleeping, so throttle waits are exact
        return sum(self.slept)


def connector(host: str, clock: Clock, cursors: CursorStore | None = None,
              retry: RetryPolicy | None = None) -> HubSpotConnector:
    api = HubSpotApi(HubSpotCredentials("pat-test-token"), host=host, retry=retry or RetryPolicy(),
                     sleep=clock.sleep, clock=clock.monotonic)
    return HubSpotConnector(api, cursors=cursors, now=clock.now,
                            fields=HubSpotFields(arr="annual_recurring_revenue",
                                                 contact_status="left_company"))


def test_full_pull_pages_through_every_object_and_normalizes(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    snapshot = connector(host, Clock()).pull("acme")
    assert snapshot.complete and snapshot.source == "hubspot"
    assert state.log.count("GET /crm/v3/objects/companies") == 3  # 5 records, 2 per page
    assert state.seen_auth == {"Bearer pat-test-token"}
    assert snapshot.cursors["companies"] == T0 + timedelta(minutes=40)

    ns = normalize(snapshot, HUBSPOT)
    assert ns.quarantine.height == 0, ns.quarantine.to_dicts()
    accounts = ns.table("accounts").sort("account_id")
    assert accounts["account_id"].to_list() == ["100", "101", "102", "103", "104"]
    assert accounts.row(0, named=True) | {"renewal_date": None} == {
        "tenant": "acme", "account_id": "100", "name": "Company 0", "domain": "c0.test",
        "industry": "computer_software", "owner_email": "owner@acme.test", "arr": 1200.5,
        "seats_licensed": None, "renewal_date": None}
    contact = ns.table("contacts").row(0, named=True)
    assert (contact["account_id"], contact["role"], contact["status"], contact["name"]) == \
        ("100", "champion", "active", "Ada Byron")
    deal = ns.table("opportunities").row(0, named=True)
    assert (deal["account_id"], deal["stage"], str(deal["stage_changed_on"]), deal["amount"]) == \
        ("100", "negotiation", "2025-02-20", 5000.0)
    activities = {r["activity_id"]: r for r in ns.table("activities").to_dicts()}
    assert activities["401"]["subject"] == "Call & demo went well"
    assert (activities["401"]["type"], activities["401"]["opportunity_id"]) == ("note", "301")
    assert (activities["402"]["type"], activities["402"]["account_id"], activities["402"]["contact_id"]) == \
        ("task", "101", "201")


def test_incremental_pull_reads_only_changes_and_cursor_moves_after_the_write(
        portal: tuple[FakePortal, str], tmp_path: Path) -> None:
    state, host = portal
    seed(state)
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    store = LocalObjectStore(tmp_path / "lake")
    clock = Clock()
    commit_pull(connector(host, clock, cursors).pull("acme"), store, cursors)
    assert cursors.get("acme", "hubspot")["companies"] == T0 + timedelta(minutes=40)

    changed = T0 + timedelta(hours=2)
    state.objects["companies"][1] = record("101", changed, name="Company 1 renamed", hubspot_owner_id="7")
    state.log.clear()
    clock.at += timedelta(hours=3)
    snapshot = connector(host, clock, cursors).pull("acme")
    assert "GET /crm/v3/objects/companies" not in state.log
    assert "POST /crm/v3/objects/companies/search" in state.log
    assert not snapshot.complete
    # the 5-minute overlap re-reads the previous boundary record (104) as well as the change
    assert sorted(snapshot.objects["accounts"]["id"].to_list()) == ["101", "104"]
    assert snapshot.cursors["companies"] == changed

    class BrokenStore:
        def write_snapshot(self, snapshot: object) -> list[str]:
            raise OSError("disk full")

    with pytest.raises(OSError):
        commit_pull(snapshot, BrokenStore(), cursors)
    assert cursors.get("acme", "hubspot")["companies"] == T0 + timedelta(minutes=40)  # re-pull, never skip
    commit_pull(snapshot, store, cursors)
    assert CursorStore(sqlite_url(tmp_path / "state.sqlite")).get("acme", "hubspot")["companies"] == changed


def test_full_resync_lists_everything_even_with_cursors(portal: tuple[FakePortal, str],
                                                        tmp_path: Path) -> None:
    state, host = portal
    seed(state)
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    cursors.advance("acme", "hubspot", {"companies": T0 + timedelta(days=1)})
    snapshot = connector(host, Clock(), cursors).pull("acme", full=True)
    assert snapshot.complete and snapshot.objects["accounts"].height == 5
    assert not any(line.endswith("/search") for line in state.log)


def test_rate_limited_request_waits_retry_after_then_succeeds(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    state.failures = [Failure("/crm/v3/objects/companies", 429, {"status": "error", "message": "slow down",
                                                                 "policyName": "TEN_SECONDLY_ROLLING"},
                              {"Retry-After": "7"})]
    clock = Clock()
    snapshot = connector(host, clock).pull("acme")
    assert snapshot.objects["accounts"].height == 5
    assert [s for s in clock.slept if s >= 1] == [pytest.approx(7.0, abs=0.5)]
    assert all(s <= 1 / 9 + 1e-9 for s in clock.slept if s < 1)  # the rest are throttle spacing


def test_secondly_limit_without_retry_after_waits_a_second(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    state.failures = [Failure("/crm/v3/objects/deals", 429, {"message": "x", "policyName": "SECONDLY"})]
    clock = Clock()
    assert connector(host, clock).pull("acme").objects["opportunities"].height == 1
    assert [s for s in clock.slept if s >= 0.5] == [pytest.approx(1.25, abs=0.25)]


def test_server_errors_until_the_budget_runs_out_name_object_and_status(
        portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    state.failures = [Failure("/crm/v3/objects/contacts", 503, {"message": "unavailable"}) for _ in range(4)]
    with pytest.raises(RetriesExhausted, match=r"HubSpot contacts list .*4 attempts.*HTTP 503") as caught:
        connector(host, Clock(), retry=RetryPolicy(max_attempts=4)).pull("acme")
    assert caught.value.last_status == 503


def test_daily_limit_and_bad_token_fail_at_once_with_what_to_do(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    state.failures = [Failure("/crm/v3/pipelines", 429, {"message": "daily", "policyName": "DAILY"})]
    with pytest.raises(HubSpotRequestFailed, match="daily API limit"):
        connector(host, Clock()).pull("acme")
    state.failures = [Failure("/crm/v3/pipelines", 401, {"message": "Authentication credentials not found"})]
    with pytest.raises(HubSpotRequestFailed, match="token is invalid"):
        connector(host, Clock()).pull("acme")
    assert len([line for line in state.log if "pipelines" in line]) == 2  # no retries


def test_malformed_vendor_records_are_quarantined_with_reasons(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    seed(state)
    state.objects["companies"].append(record("999", T0, name=None, domain="x.test"))
    state.objects["deals"].append(record("302", T0, dealname="Odd", dealstage="closedwon", amount="lots"))
    state.objects["deals"].append(record("303", T0, dealname="Mystery", dealstage="weird_stage"))
    ns = normalize(connector(host, Clock()).pull("acme"), HUBSPOT)
    reasons = {(r["object"], r["entity_id"]): r["reason"] for r in ns.quarantine.to_dicts()}
    assert reasons[("accounts", "999")] == "missing_field: name"
    assert reasons[("opportunities", "302")].startswith("missing_id")  # no company association
    assert reasons[("opportunities", "303")].startswith("missing_id")
    state.links[("deals", "companies")].update({"302": [primary("100")], "303": [primary("100")]})
    ns = normalize(connector(host, Clock()).pull("acme"), HUBSPOT)
    reasons = {(r["object"], r["entity_id"]): r["reason"] for r in ns.quarantine.to_dicts()}
    assert reasons[("opportunities", "302")] == "invalid_type: amount is not a number"
    assert reasons[("opportunities", "303")].startswith("invalid_value: stage")
    assert ns.table("opportunities")["opportunity_id"].to_list() == ["301"]


def test_search_beyond_the_10k_window_restarts_from_the_last_instant(
        portal: tuple[FakePortal, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state, host = portal
    seed(state)
    monkeypatch.setattr(hubspot_connector, "_SEARCH_WINDOW", 4)
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    cursors.advance("acme", "hubspot", {"companies": T0})
    state.objects["companies"] = [record(str(500 + i), T0 + timedelta(minutes=i), name=f"N{i}")
                                  for i in range(9)]
    snapshot = connector(host, Clock(), cursors).pull("acme")
    assert sorted(snapshot.objects["accounts"]["id"].to_list()) == [str(500 + i) for i in range(9)]
    assert state.log.count("POST /crm/v3/objects/companies/search") > 5


def test_a_dropped_connection_is_retried_then_reported(portal: tuple[FakePortal, str]) -> None:
    state, host = portal
    dead = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    port = dead.server_address[1]
    dead.server_close()  # nothing listens on this port any more
    with pytest.raises(RetriesExhausted, match="HubSpot deal pipelines.*3 attempts.*a connection error"):
        connector(f"http://127.0.0.1:{port}", Clock(), retry=RetryPolicy(max_attempts=3)).pull("acme")


def test_each_pull_saves_the_portals_deal_stages_for_the_webhook_path(portal: tuple[FakePortal, str],
                                                                       tmp_path: Path) -> None:
    from connectors.hubspot.stages import HubSpotStageLabels

    state, host = portal
    seed(state)
    labels = HubSpotStageLabels(sqlite_url(tmp_path / "state.sqlite"))
    labels.replace("acme", {"gone": "A stage the portal dropped"})
    labels.replace("globex", {"contractsent": "Globex's own label"})
    plain = connector(host, Clock())
    saving = HubSpotConnector(plain._api, now=Clock().now, stage_labels=labels)
    saving.pull("acme")
    assert labels.get("acme") == {"appointmentscheduled": "Appointment Scheduled",
                                  "contractsent": "Contract Sent", "closedwon": "Closed Won"}
    assert labels.get("globex") == {"contractsent": "Globex's own label"}, "other tenants are untouched"
