"""revloop.app wires the receiver from the settings: limits, the group committer, SQL or SQS inbox."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from connectors.webhooks.factory import InboxConfigError, open_webhook_inbox, sqs_region
from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.sqs_inbox import SqsWebhookInbox, create_inbox_queues
from connectors.webhooks.verify import signed_headers
from revloop.app import create_app
from revloop.settings import Settings, load_settings
from revloop.wiring import ensure_webhook_secrets, state_url


def post(client: TestClient, settings: Settings, delivery_id: str, body: bytes | None = None,
         tenant: str = "acme") -> int:
    secret = ensure_webhook_secrets(settings).secrets_for(tenant, "demo")[0]
    body = body if body is not None else json.dumps({"n": delivery_id}).encode()
    headers = {"content-type": "application/json",
               **signed_headers(secret, delivery_id, int(time.time()), body)}
    return client.post(f"/webhooks/demo?tenant={tenant}", content=body, headers=headers).status_code


def test_default_settings_store_deliveries_in_the_sql_inbox_of_the_state_db(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    with TestClient(create_app(settings)) as client:
        assert [post(client, settings, "msg_1"), post(client, settings, "msg_1")] == [202, 200]
    events = WebhookInbox(state_url(settings)).pending()
    assert [(e.tenant, e.delivery_id) for e in events] == [("acme", "msg_1")]


def test_configured_limits_apply_size_and_per_tenant_backlog(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", webhook_max_body_bytes=64,
                             webhook_max_pending_per_tenant=1, webhook_retry_after_seconds=7)
    with TestClient(create_app(settings)) as client:
        assert post(client, settings, "big", body=json.dumps({"pad": "x" * 100}).encode()) == 413
        assert post(client, settings, "first") == 202
        secret = ensure_webhook_secrets(settings).secrets_for("acme", "demo")[0]
        body = b'{"n": 2}'
        refused = client.post("/webhooks/demo?tenant=acme", content=body, headers={
            "content-type": "application/json", **signed_headers(secret, "second", int(time.time()), body)})
        assert refused.status_code == 429 and refused.headers["retry-after"] == "7"
        assert post(client, settings, "other", tenant="globex") == 202, "other tenants are unaffected"


def test_sqs_queue_url_in_settings_sends_deliveries_to_sqs(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with mock_aws():
        queue_url, dlq_url = create_inbox_queues(boto3.client("sqs", region_name="eu-west-1"), "hooks")
        settings = load_settings(data_dir=tmp_path / "data", webhook_sqs_queue_url=queue_url,
                                 webhook_sqs_dead_letter_url=dlq_url)
        with TestClient(create_app(settings)) as client:
            assert post(client, settings, "msg_sqs") == 202
        inbox = open_webhook_inbox(state_url(settings), sqs_queue_url=queue_url,
                                   sqs_dead_letter_url=dlq_url)
        assert isinstance(inbox, SqsWebhookInbox)
        assert [e.delivery_id for e in inbox.receive(limit=10)] == ["msg_sqs"]
    assert WebhookInbox(state_url(settings)).pending() == [], "nothing went to the SQL inbox"


def test_half_an_sqs_configuration_is_refused_with_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(InboxConfigError, match="DEAD_LETTER_URL"):
        open_webhook_inbox(f"sqlite:///{tmp_path}/s.sqlite", sqs_queue_url="https://sqs.x/1/q")


def test_region_is_read_from_aws_queue_urls_only() -> None:
    assert sqs_region("https://sqs.eu-west-1.amazonaws.com/123456789012/hooks") == "eu-west-1"
    assert sqs_region("https://us-east-2.queue.amazonaws.com/123456789012/hooks") == "us-east-2"
    assert sqs_region("http://127.0.0.1:5000/123456789012/hooks") is None
