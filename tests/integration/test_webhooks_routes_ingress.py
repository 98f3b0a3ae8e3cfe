"""The receiver's HubSpot v3 path, backlog backpressure (429/503 + Retry-After) and trace ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from connectors.webhooks.asgi import with_webhook_ingress
from connectors.webhooks.backpressure import IngressLimits
from connectors.webhooks.hubspot import hubspot_signed_headers
from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.receiver import WebhookReceiver
from connectors.webhooks.secrets import ensure_local_secrets
from connectors.webhooks.verify import signed_headers
from ledger.sql import sqlite_url

NOW = 1_700_000_000
PUBLIC = "https://revloop.example.com"
CLIENT_SECRET = "0f9c2d3e-hubspot-app-client-secret"
EVENT = {"eventId": 100, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1564113600000,
         "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": 123,
         "propertyName": "dealstage", "propertyValue": "closedwon"}
JSON = {"content-type": "application/json"}


class Ingress:
    def __init__(self, tmp_path: Path, limits: IngressLimits | None = None) -> None:
        self.inbox = WebhookInbox(sqlite_url(tmp_path / "state.sqlite"))
        self.secrets = ensure_local_secrets(tmp_path / "webhooks.json", ["acme", "globex"],
                                            ["hubspot", "demo"])
        self.secrets.add("acme", "hubspot", "hsv3_" + CLIENT_SECRET)
        receiver = WebhookReceiver(self.inbox, self.secrets, {"hubspot", "demo"},
                                   clock=lambda: NOW + 0.2, limits=limits)
        self.client = TestClient(with_webhook_ingress(FastAPI(), receiver, public_base_url=PUBLIC))

    def hubspot(self, body: bytes, *, tenant: str = "acme", secret: str = CLIENT_SECRET,
                ts_ms: int = NOW * 1000, uri: str | None = None) -> object:
        path = f"/webhooks/hubspot?tenant={tenant}"
        headers = hubspot_signed_headers(secret, "POST", uri or PUBLIC + path, body, ts_ms)
        return self.client.post(path, content=body, headers={**JSON, **headers})

    def standard(self, delivery_id: str, tenant: str = "acme", source: str = "demo",
                 headers: dict[str, str] | None = None) -> object:
        body = json.dumps({"n": delivery_id}).encode()
        secret = [s for s in self.secrets.secrets_for(tenant, source) if s.startswith("whsec_")][0]
        return self.client.post(f"/webhooks/{source}", params={"tenant": tenant}, content=body,
                                headers={**JSON, **signed_headers(secret, delivery_id, NOW, body),
                                         **(headers or {})})


@pytest.fixture
def ingress(tmp_path: Path) -> Iterator[Ingress]:
    receiver = Ingress(tmp_path)
    with receiver.client:  # runs the lifespan: the group committer is closed at the end
        yield receiver


def test_a_hubspot_v3_batch_is_stored_one_event_per_delivery(ingress: Ingress) -> None:
    other = {**EVENT, "eventId": 101, "objectId": 124}
    response = ingress.hubspot(json.dumps([EVENT, other]).encode())
    assert response.status_code == 202
    assert response.json()["events"] == 2 and response.json()["stored"] == 2
    stored = ingress.inbox.pending()
    assert [json.loads(e.body)["objectId"] for e in stored] == [123, 124]
    assert {e.source for e in stored} == {"hubspot"} and stored[0].trace_id == response.json()["trace_id"]


def test_a_hubspot_retry_with_a_new_attempt_number_is_a_duplicate(ingress: Ingress) -> None:
    assert ingress.hubspot(json.dumps([EVENT]).encode()).status_code == 202
    retry = ingress.hubspot(json.dumps([{**EVENT, "attemptNumber": 1}]).encode())
    assert (retry.status_code, retry.json()["status"]) == (200, "duplicate")
    assert len(ingress.inbox.pending()) == 1


@pytest.mark.parametrize(("change", "code"), [
    ({"secret": "another-apps-secret"}, "no_matching_signature"),
    ({"tenant": "globex"}, "no_matching_signature"),  # globex registered no HubSpot app secret
    ({"uri": "http://revloop.example.com/webhooks/hubspot?tenant=acme"}, "no_matching_signature"),
    ({"ts_ms": (NOW - 301) * 1000}, "timestamp_out_of_tolerance"),
    ({"ts_ms": (NOW + 301) * 1000}, "timestamp_out_of_tolerance"),
])
def test_bad_hubspot_signatures_answer_401_with_a_typed_code(ingress: Ingress, change: dict[str, object],
                                                            code: str) -> None:
    response = ingress.hubspot(json.dumps([EVENT]).encode(), **change)  # type: ignore[arg-type]
    assert (response.status_code, response.json()["error"]) == (401, code)
    assert ingress.inbox.pending() == []


def test_a_signed_hubspot_body_that_is_not_a_batch_answers_400(ingress: Ingress) -> None:
    response = ingress.hubspot(json.dumps(EVENT).encode())
    assert (response.status_code, response.json()["error"]) == (400, "invalid_payload")


def test_standard_webhooks_still_work_on_the_hubspot_source(ingress: Ingress) -> None:
    assert ingress.standard("msg_1", source="hubspot").status_code == 202


def test_the_senders_traceparent_is_stored_and_returned(ingress: Ingress) -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    response = ingress.standard("msg_1", headers={"traceparent": traceparent})
    assert response.json()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert ingress.inbox.pending()[0].trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    generated = ingress.standard("msg_2").json()["trace_id"]
    assert len(generated) == 32 and generated != "4bf92f3577b34da6a3ce929d0e0e4736"


def test_a_tenant_over_its_backlog_mark_gets_429_with_retry_after_and_others_flow(tmp_path: Path) -> None:
    receiver = Ingress(tmp_path, IngressLimits(max_pending_per_tenant=3, max_pending_total=100,
                                               retry_after_seconds=7, backlog_refresh_seconds=0))
    with receiver.client:
        assert [receiver.standard(f"a{n}").status_code for n in range(3)] == [202] * 3
        refused = receiver.standard("a3")
        assert (refused.status_code, refused.json()["error"]) == (429, "tenant_backlog_full")
        assert refused.headers["retry-after"] == "7"
        assert receiver.standard("g0", tenant="globex").status_code == 202
        receiver.inbox.mark_processed([e.id for e in receiver.inbox.pending(tenant="acme")])
        assert receiver.standard("a3").status_code == 202  # drained: accepted again


def test_over_the_global_backlog_mark_everyone_gets_503_with_retry_after(tmp_path: Path) -> None:
    receiver = Ingress(tmp_path, IngressLimits(max_pending_total=2, backlog_refresh_seconds=0))
    with receiver.client:
        assert receiver.standard("a0").status_code == 202
        assert receiver.standard("g0", tenant="globex").status_code == 202
        for tenant in ("acme", "globex"):
            refused = receiver.standard("x1", tenant=tenant)
            assert (refused.status_code, refused.json()["error"]) == (503, "inbox_backlog_full")
            assert int(refused.headers["retry-after"]) > 0
        assert len(receiver.inbox.pending()) == 2
