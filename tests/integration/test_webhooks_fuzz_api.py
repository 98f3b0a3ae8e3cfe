"""schemathesis over the webhook receiver's OpenAPI, in-process against the ASGI app (RELIABILITY 20):
no 5xx, answers conform to the documented schema, and no unsigned request is ever accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from connectors.webhooks.asgi import WebhookIngress, with_webhook_ingress
from connectors.webhooks.backpressure import IngressLimits
from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.receiver import WebhookReceiver
from connectors.webhooks.secrets import ensure_local_secrets
from ledger.sql import sqlite_url

EXAMPLES = 1000


def receiver_app(root: Path) -> tuple[WebhookIngress, WebhookInbox]:
    root.mkdir(parents=True, exist_ok=True)
    inbox = WebhookInbox(sqlite_url(root / "state.sqlite"))
    secrets = ensure_local_secrets(root / "webhooks.json", ["acme", "globex"], ["demo", "hubspot"])
    secrets.add("acme", "hubspot", "hsv3_acme-hubspot-app-secret")
    receiver = WebhookReceiver(inbox, secrets, {"demo", "hubspot"}, limits=IngressLimits(max_body_bytes=4096))
    return with_webhook_ingress(FastAPI(title="webhook receiver"), receiver), inbox


@pytest.fixture(scope="module")
def receiver(tmp_path_factory: pytest.TempPathFactory) -> tuple[WebhookIngress, WebhookInbox]:
    return receiver_app(tmp_path_factory.mktemp("fuzz"))


def assert_never_accepted(status: int) -> None:
    assert not 200 <= status < 300, f"an unsigned request was accepted with {status}"


def test_any_request_to_the_receiver_is_answered_without_a_server_error_or_acceptance(
        receiver: tuple[WebhookIngress, WebhookInbox]) -> None:
    app, inbox = receiver
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operation = schema["/webhooks/{source}"]["POST"]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate()
        assert_never_accepted(response.status_code)

    fuzz()
    assert inbox.counts() == {"pending": 0, "processed": 0, "dead": 0}


@pytest.mark.parametrize("tenant", ["acme", "globex"])
def test_requests_for_a_real_tenant_reach_verification_and_are_all_refused(
        receiver: tuple[WebhookIngress, WebhookInbox], tenant: str) -> None:
    app, inbox = receiver
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)["/webhooks/{source}"]["POST"]
    statuses: set[int] = set()

    @settings(max_examples=200, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(query={"tenant": tenant}))
    def fuzz(case: schemathesis.Case) -> None:
        response = case.call_and_validate()
        statuses.add(response.status_code)
        assert_never_accepted(response.status_code)

    fuzz()
    assert 401 in statuses  # the generator got past routing and content checks into the verifier
    assert inbox.counts()["pending"] == 0
