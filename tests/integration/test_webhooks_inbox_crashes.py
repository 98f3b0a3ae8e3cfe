"""Inbox behaviour when consumers or the receiver crash mid-way (SQL leases, SQS redrive policy)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.port import NewDelivery
from connectors.webhooks.sqs_inbox import SqsWebhookInbox, create_inbox_queues
from ledger.sql import sqlite_url

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def delivery(delivery_id: str) -> NewDelivery:
    return NewDelivery("acme", "demo", delivery_id, AT, b'{"n": 1}')


@pytest.fixture
def sqs_inbox(tmp_path: Path) -> Iterator[SqsWebhookInbox]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url, dlq_url = create_inbox_queues(sqs, "inbox", max_attempts=2)
        yield SqsWebhookInbox(sqs, queue_url, dlq_url, sqlite_url(tmp_path / "claims.sqlite"), max_attempts=2)


def test_sql_an_event_whose_consumer_keeps_crashing_becomes_a_dead_letter(tmp_path: Path) -> None:
    now = [1_000.0]
    inbox = WebhookInbox(sqlite_url(tmp_path / "s.sqlite"), max_attempts=2, clock=lambda: now[0])
    inbox.store_many([delivery("a")])
    for attempt in (1, 2):
        [event] = inbox.receive(lease_seconds=30)
        assert event.attempts == attempt
        assert inbox.receive(lease_seconds=30) == []  # leased
        now[0] += 31  # the consumer died without ack or fail; the lease runs out
    assert inbox.receive() == []
    [dead] = inbox.dead_letters()
    assert dead.delivery_id == "a" and "without an ack" in (dead.error or "")


def test_sqs_an_event_whose_consumer_keeps_crashing_is_moved_by_the_redrive_policy(
        sqs_inbox: SqsWebhookInbox) -> None:
    sqs_inbox.store_many([delivery("a")])
    for attempt in (1, 2):
        [event] = sqs_inbox.receive(limit=1, lease_seconds=0)  # visible again at once: it crashed
        assert event.attempts == attempt
    assert sqs_inbox.receive() == []
    [dead] = sqs_inbox.dead_letters()
    assert dead.delivery_id == "a" and "redrive policy" in (dead.error or "")
    assert sqs_inbox.redrive([dead.id]) == 1
    assert [e.delivery_id for e in sqs_inbox.receive()] == ["a"]


def test_sqs_a_message_sent_before_a_crash_and_sent_again_on_retry_reaches_consumers_once(
        sqs_inbox: SqsWebhookInbox) -> None:
    sqs_inbox._send(sqs_inbox.queue_url, [delivery("a")])  # sent, then the receiver died before the claim
    assert sqs_inbox.store_many([delivery("a")]) == [True]  # the sender's retry
    assert [e.delivery_id for e in sqs_inbox.receive(limit=10)] == ["a"]
    assert sqs_inbox.receive(limit=10) == []


def test_sqs_an_orphan_message_is_adopted_and_a_later_retry_is_a_duplicate(
        sqs_inbox: SqsWebhookInbox) -> None:
    sqs_inbox._send(sqs_inbox.queue_url, [delivery("a")])
    [event] = sqs_inbox.receive()
    assert sqs_inbox.store_many([delivery("a")]) == [False]
    assert sqs_inbox.ack([event]) == 1
    assert sqs_inbox.backlog_by_tenant() == {}
