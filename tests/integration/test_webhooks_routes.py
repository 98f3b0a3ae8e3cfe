"""POST /webhooks/{source}: verified deliveries stored once then 2xx; every rejection typed, never 410."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from connectors.webhooks.asgi import with_webhook_ingress
from connectors.webhooks.backpressure import IngressLimits
from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.receiver import WebhookReceiver
from connectors.webhooks.secrets import WebhookSecretStore, ensure_local_secrets
from connectors.webhooks.verify import signed_headers
from ledger.sql import sqlite_url

NOW = 1_700_000_000
BODY = b'{"objectId": 42, "propertyName": "dealstage", "propertyValue": "closedwon"}'
JSON = {"content-type": "application/json"}
LIMIT = 16_000


class Receiver:
    def __init__(self, tmp_path: Path, max_body_bytes: int = LIMIT) -> None:
        self.db = tmp_path / "state.sqlite"
        self.inbox = WebhookInbox(sqlite_url(self.db))
        self.secrets: WebhookSecretStore = ensure_local_secrets(
            tmp_path / "webhooks.json", ["acme", "globex"], ["hubspot"])
        receiver = WebhookReceiver(self.inbox, self.secrets, {"hubspot", "demo"},
                                   limits=IngressLimits(max_body_bytes=max_body_bytes),
                                   clock=lambda: NOW + 0.7)
        self.client = TestClient(with_webhook_ingress(FastAPI(), receiver))

    def secret(self, tenant: str = "acme") -> str:
        return self.secrets.secrets_for(tenant, "hubspot")[0]

    def post(self, body: bytes = BODY, *, tenant: str = "acme", source: str = "hubspot",
             delivery_id: str = "msg_1", timestamp: int = NOW, secret: str | None = None,
             headers: dict[str, str] | None = None, signed_body: bytes | None = None) -> object:
        signed = signed_headers(secret or self.secret(tenant), delivery_id, timestamp,
                                body if signed_body is None else signed_body)
        return self.client.post(f"/webhooks/{source}", params={"tenant": tenant}, content=body,
                                headers={**JSON, **signed, **(headers or {})})

    def stored(self) -> list[tuple[str, str, bytes]]:
        return [(e.tenant, e.delivery_id, e.body) for e in self.inbox.pending()]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    r = Receiver(tmp_path)
    yield r
    r.client.close()


def test_a_verified_delivery_is_stored_then_accepted(receiver: Receiver) -> None:
    response = receiver.post()
    assert response.status_code == 202
    answer = response.json()
    assert {k: answer[k] for k in ("status", "delivery_id")} == {"status": "accepted", "delivery_id": "msg_1"}
    assert receiver.stored() == [("acme", "msg_1", BODY)]
    assert receiver.inbox.pending()[0].trace_id == answer["trace_id"]


def test_a_repeated_delivery_answers_200_duplicate_and_stores_nothing_more(receiver: Receiver) -> None:
    assert receiver.post().status_code == 202
    again = receiver.post(timestamp=NOW + 60)  # a sender retry re-signs with a fresh timestamp
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert len(receiver.stored()) == 1


@pytest.mark.parametrize(("change", "code"), [
    ({"headers": {"webhook-signature": "v1,AAAA"}}, "no_matching_signature"),
    ({"headers": {"webhook-signature": "v2,AAAA"}}, "no_matching_signature"),
    ({"headers": {"webhook-timestamp": "soon"}}, "invalid_timestamp"),
    ({"headers": {"webhook-timestamp": f"{NOW}.0"}}, "invalid_timestamp"),
    ({"timestamp": NOW - 301}, "timestamp_out_of_tolerance"),
    ({"timestamp": NOW + 302}, "timestamp_out_of_tolerance"),
    ({"signed_body": BODY + b" "}, "no_matching_signature"),
])
def test_verification_failures_answer_401_with_a_typed_code(receiver: Receiver, change: dict[str, object],
                                                             code: str) -> None:
    response = receiver.post(**change)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json()["error"] == code
    assert receiver.stored() == []


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_answers_401_missing_header(receiver: Receiver, missing: str) -> None:
    headers = {**JSON, **signed_headers(receiver.secret(), "msg_1", NOW, BODY)}
    del headers[missing]
    response = receiver.client.post("/webhooks/hubspot", params={"tenant": "acme"}, content=BODY,
                                    headers=headers)
    assert (response.status_code, response.json()["error"]) == (401, "missing_header")


def test_the_window_is_measured_against_the_receivers_clock(receiver: Receiver) -> None:
    assert receiver.post(delivery_id="a", timestamp=NOW - 299).status_code == 202
    assert receiver.post(delivery_id="b", timestamp=NOW + 299).status_code == 202


def test_another_tenants_secret_cannot_deliver_into_this_tenant(receiver: Receiver) -> None:
    response = receiver.post(tenant="acme", secret=receiver.secret("globex"))
    assert (response.status_code, response.json()["error"]) == (401, "no_matching_signature")
    assert receiver.stored() == []


def test_rotation_both_active_secrets_accepted_then_the_old_one_rejected(receiver: Receiver) -> None:
    old = receiver.secret()
    new = receiver.secrets.rotate("acme", "hubspot")
    assert receiver.post(delivery_id="a", secret=old).status_code == 202
    assert receiver.post(delivery_id="b", secret=new).status_code == 202
    receiver.secrets.retire("acme", "hubspot", old)
    assert receiver.post(delivery_id="c", secret=old).status_code == 401
    assert receiver.post(delivery_id="d", secret=new).status_code == 202


def test_a_re_serialised_body_with_the_original_signature_is_rejected(receiver: Receiver) -> None:
    variants = [json.dumps(json.loads(BODY), separators=(",", ":")).encode(),
                json.dumps(dict(reversed(json.loads(BODY).items()))).encode(),
                json.dumps(json.loads(BODY), indent=2).encode()]
    for n, variant in enumerate(variants):
        assert variant != BODY
        response = receiver.post(variant, delivery_id=f"r{n}", signed_body=BODY)
        assert (response.status_code, response.json()["error"]) == (401, "no_matching_signature")
    assert receiver.stored() == []


@pytest.mark.parametrize(("source", "tenant", "code"), [
    ("salesforce", "acme", "unknown_source"),
    ("hubspot", "initech", "unknown_tenant"),
    ("demo", "acme", "unknown_tenant"),  # a known source without a secret for this tenant
])
def test_unknown_source_or_tenant_without_secrets_answers_404(receiver: Receiver, source: str, tenant: str,
                                                               code: str) -> None:
    response = receiver.post(source=source, tenant=tenant, secret=receiver.secret())
    assert (response.status_code, response.json()["error"]) == (404, code)


def test_a_body_over_the_limit_answers_413_declared_or_streamed(receiver: Receiver) -> None:
    big = b'{"pad": "' + b"x" * (LIMIT - 10) + b'"}'
    assert len(big) == LIMIT + 1
    assert receiver.post(big).status_code == 413
    headers = {**JSON, **signed_headers(receiver.secret(), "msg_big", NOW, big)}
    chunks = iter([big[:LIMIT // 2], big[LIMIT // 2:]])  # no Content-Length: chunked transfer
    streamed = receiver.client.post("/webhooks/hubspot", params={"tenant": "acme"}, content=chunks,
                                    headers=headers)
    assert (streamed.status_code, streamed.json()["error"]) == (413, "payload_too_large")
    assert receiver.stored() == []
    assert receiver.post(b'{"pad": "' + b"x" * (LIMIT - 11) + b'"}').status_code == 202  # at the limit


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", ""])
def test_a_body_that_is_not_declared_json_answers_415(receiver: Receiver, content_type: str) -> None:
    response = receiver.post(headers={"content-type": content_type})
    assert (response.status_code, response.json()["error"]) == (415, "unsupported_media_type")


def test_json_with_charset_parameter_is_accepted(receiver: Receiver) -> None:
    assert receiver.post(headers={"content-type": "Application/JSON; charset=utf-8"}).status_code == 202


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"42", b"not json", b'{"a": NaN}',
                                  b'{"a": "\xff"}', b'{"a":' * 2_000 + b"1" + b"}" * 2_000])
def test_a_verified_body_that_is_not_a_json_object_answers_400_and_is_not_stored(
        receiver: Receiver, body: bytes) -> None:
    response = receiver.post(body)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_payload")
    assert receiver.stored() == []


def test_an_unsigned_non_json_body_is_rejected_by_verification_before_parsing(receiver: Receiver) -> None:
    response = receiver.post(b"not json", signed_body=b"something else")
    assert (response.status_code, response.json()["error"]) == (401, "no_matching_signature")


def test_a_storage_failure_answers_503_with_retry_after(receiver: Receiver) -> None:
    other = create_engine(sqlite_url(receiver.db))
    with other.begin() as conn:
        conn.execute(text("DROP TABLE webhook_inbox"))
    other.dispose()
    response = receiver.post()
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["error"] == "inbox_unavailable"


def test_no_rejection_ever_answers_410(receiver: Receiver) -> None:
    answers = {receiver.post(headers={"webhook-signature": "v1,x"}).status_code,
               receiver.post(source="nope").status_code,
               receiver.post(headers={"content-type": "text/plain"}).status_code,
               receiver.post(b"[]").status_code}
    assert 410 not in answers and answers == {401, 404, 415, 400}


def test_ten_concurrent_deliveries_of_one_id_are_stored_exactly_once(receiver: Receiver) -> None:
    barrier = threading.Barrier(10)
    statuses: list[int] = []

    def deliver() -> None:
        barrier.wait()
        statuses.append(receiver.post(delivery_id="msg_race").status_code)

    with receiver.client:
        threads = [threading.Thread(target=deliver) for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    assert sorted(statuses) == [200] * 9 + [202]
    assert receiver.stored() == [("acme", "msg_race", BODY)]


@pytest.mark.parametrize("delivery_id", ["m" * 257, "msg\x7f1"])
def test_a_verified_but_unusable_delivery_id_answers_400(receiver: Receiver, delivery_id: str) -> None:
    headers = {**JSON, **signed_headers(receiver.secret(), delivery_id, NOW, BODY)}
    raw = [(k.encode(), v.encode("latin-1")) for k, v in headers.items()]
    response = receiver.client.post("/webhooks/hubspot", params={"tenant": "acme"}, content=BODY,
                                    headers=raw)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_delivery_id")
    assert receiver.stored() == []


def test_responses_and_logs_never_contain_secrets(receiver: Receiver,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    texts = [receiver.post(secret=receiver.secret("globex")).text, receiver.post().text,
             receiver.post(source="demo").text, receiver.post(delivery_id="x", timestamp=0).text]
    everything = "".join(texts) + caplog.text
    for tenant in ("acme", "globex"):
        assert receiver.secret(tenant).removeprefix("whsec_")[:16] not in everything
    assert "webhook rejected" in caplog.text and "webhook accepted" in caplog.text


# -- the ASGI front: what it answers itself and what it leaves to the app behind it --------------


def test_other_methods_on_a_webhook_path_answer_405_with_allow_post(receiver: Receiver) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = receiver.client.request(method, "/webhooks/hubspot", params={"tenant": "acme"})
        assert (response.status_code, response.json()["error"]) == (405, "method_not_allowed")
        assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("query", [{}, {"tenant": ["acme", "globex"]}, {"tenants": "acme"}])
def test_a_missing_or_repeated_tenant_parameter_answers_400_and_stores_nothing(
        receiver: Receiver, query: dict[str, object]) -> None:
    headers = {**JSON, **signed_headers(receiver.secret(), "msg_1", NOW, BODY)}
    response = receiver.client.post("/webhooks/hubspot", params=query, content=BODY,  # type: ignore[arg-type]
                                    headers=headers)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_tenant_parameter")
    assert receiver.stored() == []


def test_paths_that_are_not_one_source_segment_go_to_the_app_behind(tmp_path: Path) -> None:
    app = FastAPI()

    @app.post("/webhooks/hubspot/echo")
    def echo() -> dict[str, str]:
        return {"served_by": "app"}

    inbox = WebhookInbox(sqlite_url(tmp_path / "state.sqlite"))
    secrets = ensure_local_secrets(tmp_path / "webhooks.json", ["acme"], ["hubspot"])
    client = TestClient(with_webhook_ingress(app, WebhookReceiver(inbox, secrets, {"hubspot"})))
    assert client.post("/webhooks/hubspot/echo").json() == {"served_by": "app"}
    assert client.post("/webhooks/").status_code == 404
    assert client.post("/webhook/hubspot").status_code == 404
    assert "/webhooks/{source}" in client.get("/openapi.json").json()["paths"]


class _BrokenCommitter:
    async def store(self, deliveries: object) -> list[bool]:
        raise RuntimeError("a bug in the write path")


def test_an_unexpected_failure_answers_500_to_retry_and_is_logged(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox = WebhookInbox(sqlite_url(tmp_path / "state.sqlite"))
    secrets = ensure_local_secrets(tmp_path / "webhooks.json", ["acme"], ["hubspot"])
    receiver = WebhookReceiver(inbox, secrets, {"hubspot"}, clock=lambda: NOW,
                               committer=_BrokenCommitter())  # type: ignore[arg-type]
    client = TestClient(with_webhook_ingress(FastAPI(), receiver))
    headers = {**JSON, **signed_headers(secrets.secrets_for("acme", "hubspot")[0], "msg_1", NOW, BODY)}
    response = client.post("/webhooks/hubspot", params={"tenant": "acme"}, content=BODY, headers=headers)
    assert (response.status_code, response.json()["error"]) == (500, "internal_error")
    assert "webhook receiver failed" in caplog.text and "a bug in the write path" in caplog.text
    assert inbox.pending() == []


def test_a_client_that_disconnects_before_its_body_gets_no_answer_and_nothing_is_stored(
        receiver: Receiver) -> None:
    import asyncio

    from connectors.webhooks.asgi import WebhookIngress

    app = receiver.client.app
    assert isinstance(app, WebhookIngress)
    sent: list[dict[str, object]] = []

    async def disconnect() -> dict[str, object]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/webhooks/hubspot", "raw_path": b"/webhooks/hubspot",
             "query_string": b"tenant=acme", "headers": [(b"content-type", b"application/json")],
             "scheme": "http", "server": ("testserver", 80)}
    asyncio.run(app(scope, disconnect, send))  # type: ignore[arg-type]
    assert sent == [] and receiver.stored() == []
