"""One contract for every webhook inbox adapter: SQLite (WAL), PostgreSQL (a throwaway server from
scripts/ensure_postgres.sh) and SQS + DLQ (moto) with SQL claims."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.port import NewDelivery, WebhookInboxPort
from connectors.webhooks.sqs_inbox import SqsWebhookInbox, create_inbox_queues
from ledger.sql import sqlite_url
from tests.integration.test_actions_store_postgres_support import postgres_server, postgres_url

__all__ = ["postgres_server", "postgres_url"]  # fixtures, imported so pytest finds them here

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MAX_ATTEMPTS = 3
Opener = Callable[[], WebhookInboxPort]


def delivery(delivery_id: str, tenant: str = "acme", body: bytes = b'{"n": 1}',
             trace_id: str | None = "4bf92f3577b34da6a3ce929d0e0e4736") -> NewDelivery:
    return NewDelivery(tenant, "demo", delivery_id, AT, body, trace_id)


@pytest.fixture(params=["sqlite", "postgresql", "sqs"])
def open_inbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    url = sqlite_url(tmp_path / "state.sqlite")
    if request.param in ("sqlite", "postgresql"):
        if request.param == "postgresql":
            url = str(request.getfixturevalue("postgres_url"))
        yield lambda: WebhookInbox(url, max_attempts=MAX_ATTEMPTS)
        return
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        queue_url, dlq_url = create_inbox_queues(sqs, "revloop-webhooks", max_attempts=MAX_ATTEMPTS)
        yield lambda: SqsWebhookInbox(sqs, queue_url, dlq_url, url, max_attempts=MAX_ATTEMPTS)


@pytest.fixture
def inbox(open_inbox: Opener) -> WebhookInboxPort:
    return open_inbox()


def test_store_many_reports_new_and_duplicate_deliveries(inbox: WebhookInboxPort) -> None:
    assert inbox.store_many([delivery("a"), delivery("b"), delivery("a")]) == [True, True, False]
    assert inbox.store_many([delivery("a", body=b'{"n": 2}')]) == [False]
    assert inbox.store_many([delivery("a", tenant="globex")]) == [True]
    assert inbox.store_many([]) == []
    assert inbox.backlog_by_tenant() == {"acme": 2, "globex": 1}


def test_a_batch_mixing_stored_and_new_deliveries_reports_each_one(inbox: WebhookInboxPort) -> None:
    assert inbox.store_many([delivery("b"), delivery("d")]) == [True, True]
    batch = [delivery(x) for x in "abcde"] + [delivery("a"), delivery("b", tenant="globex")]
    assert inbox.store_many(batch) == [True, False, True, False, True, False, True]
    assert inbox.backlog_by_tenant() == {"acme": 5, "globex": 1}


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_batch_larger_than_one_insert_statement_is_stored_whole(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    # The SQL inbox splits a batch into INSERTs of at most 1,000 (SQLite) or 200 (PostgreSQL) rows.
    # The SQS adapter sends batches of 10, SQS's maximum; under moto, 1,201 deliveries take 12 s, so
    # the mixed-batch test above covers it.
    url = sqlite_url(tmp_path / "state.sqlite") if engine == "sqlite" else str(
        request.getfixturevalue("postgres_url"))
    inbox = WebhookInbox(url)
    inbox.store_many([delivery("m0100"), delivery("m1150")])
    answers = inbox.store_many([delivery(f"m{n:04d}") for n in range(1201)])
    assert [n for n, new in enumerate(answers) if not new] == [100, 1150]
    assert inbox.backlog_by_tenant() == {"acme": 1201}


def test_received_events_carry_exactly_what_was_stored(inbox: WebhookInboxPort) -> None:
    body = '{"b": 1,  "a": "é"}'.encode()
    inbox.store_many([delivery("a", body=body), delivery("b", trace_id=None)])
    events = sorted(inbox.receive(limit=10), key=lambda e: e.delivery_id)
    assert [(e.tenant, e.source, e.delivery_id, e.body, e.received_at, e.attempts) for e in events] == [
        ("acme", "demo", "a", body, AT, 1), ("acme", "demo", "b", b'{"n": 1}', AT, 1)]
    assert [e.trace_id for e in events] == ["4bf92f3577b34da6a3ce929d0e0e4736", None]
    assert len({e.id for e in events}) == 2


def test_a_leased_event_is_not_received_again_until_it_fails(inbox: WebhookInboxPort) -> None:
    inbox.store_many([delivery("a")])
    [event] = inbox.receive()
    assert inbox.receive() == []
    assert inbox.fail(event, "timeout talking to the CRM") == "pending"
    [again] = inbox.receive()
    assert (again.delivery_id, again.attempts) == ("a", 2)


def test_acked_events_leave_the_queue_and_the_backlog(inbox: WebhookInboxPort) -> None:
    inbox.store_many([delivery("a"), delivery("b"), delivery("c", tenant="globex")])
    events = inbox.receive(limit=10)
    acme = [e for e in events if e.delivery_id == "a"]
    assert inbox.ack(acme) == 1
    assert inbox.backlog_by_tenant() == {"acme": 1, "globex": 1}
    for event in events:
        if event.delivery_id != "a":
            inbox.fail(event, "retry")
    assert sorted(e.delivery_id for e in inbox.receive(limit=10)) == ["b", "c"]
    assert inbox.store_many([delivery("a")]) == [False]  # processed events still dedupe


def test_a_poison_event_is_dead_lettered_with_its_error_and_healthy_traffic_flows(
        inbox: WebhookInboxPort) -> None:
    inbox.store_many([delivery("poison"), delivery("healthy-0")])
    processed = []
    for round_ in range(1, MAX_ATTEMPTS + 2):
        inbox.store_many([delivery(f"healthy-{round_}")])
        for event in inbox.receive(limit=10):
            if event.delivery_id == "poison":
                expected = "dead" if round_ == MAX_ATTEMPTS else "pending"
                assert inbox.fail(event, f"ValueError: bad payload (try {round_})") == expected
            else:
                processed.append(event.delivery_id)
                inbox.ack([event])
    assert sorted(processed) == sorted(f"healthy-{n}" for n in range(MAX_ATTEMPTS + 2))
    [dead] = inbox.dead_letters()
    assert (dead.delivery_id, dead.error, dead.attempts) == (
        "poison", f"ValueError: bad payload (try {MAX_ATTEMPTS})", MAX_ATTEMPTS)
    assert dead.body == b'{"n": 1}' and dead.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert inbox.backlog_by_tenant().get("acme", 0) == 0
    assert inbox.receive(limit=10) == []


def test_a_redriven_dead_letter_is_new_to_a_sensor_that_is_past_it(inbox: WebhookInboxPort) -> None:
    inbox.store_many([delivery("p1"), delivery("ok", tenant="globex")])
    cursor = inbox.pending_tenants_after(0)[-1][0]  # a sensor saw both and launched their runs
    for _ in range(MAX_ATTEMPTS):
        for event in inbox.receive(limit=10):
            if event.delivery_id == "p1":
                inbox.fail(event, "boom")
            else:
                inbox.ack([event])
    [letter] = inbox.dead_letters()
    assert inbox.pending_tenants_after(cursor) == []
    assert inbox.redrive([letter.id]) == 1
    [(event_id, tenant)] = inbox.pending_tenants_after(cursor)
    assert tenant == "acme" and event_id > cursor, "the sensor launches a run for the re-driven event"


def test_dead_letters_are_redriven_by_id_or_all(inbox: WebhookInboxPort) -> None:
    inbox.store_many([delivery("p1"), delivery("p2"), delivery("p3")])
    for _ in range(MAX_ATTEMPTS):
        events = inbox.receive(limit=10)
        assert len(events) == 3
        for event in events:
            inbox.fail(event, f"boom {event.delivery_id}")
    letters = {d.delivery_id: d for d in inbox.dead_letters()}
    assert sorted(letters) == ["p1", "p2", "p3"] and letters["p2"].error == "boom p2"
    with pytest.raises(KeyError, match="no dead letter"):
        inbox.redrive([letters["p1"].id, "999999"])
    assert len(inbox.dead_letters()) == 3  # a bad id changes nothing
    assert inbox.redrive([letters["p1"].id]) == 1
    [back] = inbox.receive(limit=10)
    assert (back.delivery_id, back.attempts, back.body) == ("p1", 1, b'{"n": 1}')
    assert sorted(d.delivery_id for d in inbox.dead_letters()) == ["p2", "p3"]
    assert inbox.redrive() == 2
    assert inbox.dead_letters() == []
    assert sorted(e.delivery_id for e in inbox.receive(limit=10)) == ["p2", "p3"]


def test_stored_events_survive_reopening(open_inbox: Opener) -> None:
    open_inbox().store_many([delivery("a")])
    reopened = open_inbox()
    assert reopened.store_many([delivery("a")]) == [False]
    assert [e.delivery_id for e in reopened.receive()] == ["a"]
