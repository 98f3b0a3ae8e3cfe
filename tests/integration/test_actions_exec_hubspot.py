"""HubSpot write-back through the real hubspot-api-client against a loopback fake portal."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from actions.crm import CrmConflictError
from actions.errors import IdempotencyConflictError
from actions.executors import ActionExecutor
from actions.hubspot_writer import HubSpotCrmWriter, HubSpotWriteApi
from connectors.credentials import HubSpotCredentials
from connectors.retry import RetriesExhausted, RetryPolicy
from decisioning.contracts import ActionType, PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal

KEY_PROP = "revloop_idempotency_key"


@dataclass
class FakeHubSpot:
    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    failures: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)  # method, status, headers
    log: list[str] = field(default_factory=list)
    mutations: int = 0
    unique_keys: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, kind: str, id_: str, modified: str = "2025-03-01T09:00:00.000Z", **props: str) -> None:
        self.objects.setdefault(kind, {})[id_] = {"id": id_, "properties": {
            **props, "hs_lastmodifieddate": modified}, "associations": []}


def _handler(hub: FakeHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            path = urlparse(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            with hub.lock:
                hub.log.append(f"{method} {path}")
                for failure in list(hub.failures):
                    if failure[0] == method:
                        hub.failures.remove(failure)
                        return self._send(failure[1], {"message": "try later"}, failure[2])
                parts = path.strip("/").split("/")  # crm v3 objects <type> [<id>|search]
                kind, rest = parts[3], parts[4:]
                table = hub.objects.setdefault(kind, {})
                if rest == ["search"]:
                    flt = body["filterGroups"][0]["filters"][0]
                    hits = [r for r in table.values()
                            if r["properties"].get(flt["propertyName"]) == flt["value"]]
                    return self._send(200, {"total": len(hits), "results": hits[:1]})
                if method == "POST":
                    key = body["properties"].get(KEY_PROP)
                    if hub.unique_keys and any(r["properties"].get(KEY_PROP) == key for r in table.values()):
                        return self._send(409, {"message": f"{KEY_PROP} {key} already exists"})
                    hub.mutations += 1
                    new_id = str(1000 + hub.mutations)
                    record = {"id": new_id, "associations": body.get("associations", []), "properties": {
                        **body["properties"], "hs_lastmodifieddate": "2025-03-01T10:00:00.000Z"}}
                    table[new_id] = record
                    return self._send(201, record)
                record = table.get(rest[0])
                if record is None:
                    return self._send(404, {"message": "resource not found"})
                if method == "PATCH":
                    hub.mutations += 1
                    record["properties"].update(body["properties"])
                    record["properties"]["hs_lastmodifieddate"] = "2025-03-02T10:00:00.000Z"
                return self._send(200, record)

        def do_GET(self) -> None:  # noqa: N802
            self._serve("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._serve("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._serve("PATCH")

    return Handler


@pytest.fixture
def hub() -> Iterator[tuple[FakeHubSpot, HubSpotCrmWriter, list[float]]]:
    state = FakeHubSpot()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    slept: list[float] = []
    api = HubSpotWriteApi(HubSpotCredentials("pat-test"), host=f"http://127.0.0.1:{server.server_address[1]}",
                          retry=RetryPolicy(max_attempts=4), sleep=slept.append,
                          requests_per_second=1000, search_requests_per_second=1000)
    try:
        yield state, HubSpotCrmWriter({"acme": api}), slept
    finally:
        server.shutdown()
        server.server_close()


def test_create_task_is_associated_with_the_company_and_idempotent(hub: Any) -> None:
    state, writer, _ = hub
    first = writer.create_task("acme", "501", "Call the champion", "Usage fell", "2025-03-04", None, "k-1")
    again = writer.create_task("acme", "501", "Call the champion", "Usage fell", "2025-03-04", None, "k-1")
    assert first.created and not again.created and first.external_id == again.external_id
    assert state.mutations == 1
    task = state.objects["tasks"][first.external_id]
    assert task["properties"][KEY_PROP] == "k-1"
    assert task["properties"]["hs_task_subject"] == "Call the champion"
    assert task["properties"]["hs_timestamp"].startswith("2025-03-04")
    assert task["associations"] == [{"to": {"id": "501"}, "types": [
        {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 192}]}]


def test_the_same_key_with_other_values_is_refused(hub: Any) -> None:
    state, writer, _ = hub
    writer.create_task("acme", "501", "Call the champion", "", None, None, "k-9")
    with pytest.raises(IdempotencyConflictError, match="hs_task_subject"):
        writer.create_task("acme", "501", "Mark the deal won", "", None, None, "k-9")
    assert state.mutations == 1 and IdempotencyConflictError.http_status == 422


def test_a_note_is_created_once_on_the_company(hub: Any) -> None:
    state, writer, _ = hub
    note = writer.create_note("acme", "501", "Champion left", "k-note")
    assert writer.create_note("acme", "501", "Champion left", "k-note").external_id == note.external_id
    assert state.objects["notes"][note.external_id]["associations"][0]["types"][0]["associationTypeId"] == 190
    assert state.mutations == 1


def test_a_conflict_on_the_unique_key_returns_the_record_another_attempt_created(hub: Any) -> None:
    state, writer, _ = hub
    state.put("tasks", "77", **{KEY_PROP: "k-2", "hs_task_subject": "Call"})
    search = writer.portals["acme"].find_by
    misses = [None]  # the first dedupe search misses the record (search indexing lags writes)
    writer.portals["acme"].find_by = lambda *a: misses.pop() if misses else search(*a)
    result = writer.create_task("acme", "501", "Call", "", None, None, "k-2")
    assert result.external_id == "77" and not result.created and state.mutations == 0
    assert [line for line in state.log if line.startswith("POST /crm/v3/objects/tasks")] == [
        "POST /crm/v3/objects/tasks", "POST /crm/v3/objects/tasks/search"]


def test_rate_limits_and_server_errors_are_retried_with_backoff(hub: Any) -> None:
    state, writer, slept = hub
    state.failures += [("POST", 429, {"Retry-After": "2"}), ("POST", 502, {})]
    result = writer.create_task("acme", "501", "Call", "", None, None, "k-3")
    assert result.created and state.mutations == 1
    assert any(s >= 2.0 for s in slept), "Retry-After is honoured"
    posts = [line for line in state.log if line.startswith("POST")]
    assert len(posts) == 4, "two throttled/failed calls retried, then the search and the create"
    state.failures += [("GET", 503, {})] * 4
    with pytest.raises(RetriesExhausted):
        writer.get_record("acme", "accounts", "501")


def test_update_field_checks_hs_lastmodifieddate(hub: Any) -> None:
    state, writer, _ = hub
    state.put("companies", "501", industry="Retail", name="Acme")
    record = writer.get_record("acme", "accounts", "501")
    assert record["industry"] == "Retail" and record["version"] == 1740819600000
    out = writer.update_field("acme", "accounts", "501", "industry", "Aerospace", "k-4",
                              expected_version=record["version"])
    assert out.before["industry"] == "Retail" and out.after["industry"] == "Aerospace"
    assert out.after["version"] > record["version"]
    again = writer.update_field("acme", "accounts", "501", "industry", "Aerospace", "k-4",
                                expected_version=record["version"])
    assert not again.created and state.mutations == 1, "a retry of a landed write changes nothing"
    with pytest.raises(CrmConflictError, match="changed since the reviewer saw it"):
        writer.update_field("acme", "accounts", "501", "industry", "Mining", "k-5",
                            expected_version=record["version"])
    assert state.objects["companies"]["501"]["properties"]["industry"] == "Aerospace"


def test_deal_stage_maps_to_dealstage_and_unknown_records_read_as_missing(hub: Any) -> None:
    state, writer, _ = hub
    state.put("deals", "9", dealstage="contractsent")
    writer.update_field("acme", "opportunities", "9", "stage", "closedwon", "k-6")
    assert state.objects["deals"]["9"]["properties"]["dealstage"] == "closedwon"
    assert writer.get_record("acme", "accounts", "404") is None
    with pytest.raises(ValueError, match="no HubSpot portal"):
        writer.get_record("globex", "accounts", "501")


def test_close_task_compensates_a_created_task(hub: Any) -> None:
    state, writer, _ = hub
    task = writer.create_task("acme", "501", "Call", "", None, None, "k-7")
    closed = writer.close_task("acme", task.external_id, "undo:k-7")
    assert closed.after["hs_task_status"] == "COMPLETED"


def test_executor_writes_one_hubspot_task_under_ten_threads(hub: Any, tmp_path: Path) -> None:
    state, writer, _ = hub
    loop = Loop(tmp_path)
    proposal = loop.submit(make_proposal(account_id="501"), PolicyOutcome.automatic)
    executor = ActionExecutor(loop.store, loop.ledger, writer, loop.artifacts, loop.clock)
    barrier = threading.Barrier(10)

    def run() -> str:
        barrier.wait()
        return executor.execute("acme", proposal.proposal_id).model_dump_json()

    threads: list[str] = []
    workers = [threading.Thread(target=lambda: threads.append(run())) for _ in range(10)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(threads)) == 1 and state.mutations == 1
    [task] = state.objects["tasks"].values()
    assert task["properties"][KEY_PROP] == json.loads(threads[0])["idempotency_key"]
    assert loop.ledger.entries("acme", kind="action.completed")[0].payload["external_ids"] == {
        "task_id": task["id"]}
    assert ActionType.crm_create_task.value == proposal.action_type.value
