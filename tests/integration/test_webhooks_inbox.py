"""The webhook inbox on a real SQLite (WAL) file: exactly-once storage, cursors, dead letters."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from connectors.webhooks.inbox import WebhookInbox
from ledger.sql import sqlite_url

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def inbox(tmp_path: Path) -> WebhookInbox:
    return WebhookInbox(sqlite_url(tmp_path / "state.sqlite"))


def test_store_keeps_the_exact_body_and_a_duplicate_changes_nothing(inbox: WebhookInbox) -> None:
    body = '{"b": 1,  "a": "é"}'.encode()
    assert inbox.store("acme", "hubspot", "msg_1", AT, body) is True
    assert inbox.store("acme", "hubspot", "msg_1", AT + timedelta(hours=1), b'{"other": 2}') is False
    [event] = inbox.pending()
    assert (event.tenant, event.source, event.delivery_id, event.body) == ("acme", "hubspot", "msg_1", body)
    assert event.received_at == AT and event.status == "pending" and event.error is None
    assert inbox.counts() == {"pending": 1, "processed": 0, "dead": 0}


def test_the_same_delivery_id_is_distinct_per_tenant(inbox: WebhookInbox) -> None:
    assert inbox.store("acme", "hubspot", "msg_1", AT, b"{}")
    assert inbox.store("globex", "hubspot", "msg_1", AT, b"{}")
    assert [e.tenant for e in inbox.pending(tenant="globex")] == ["globex"]
    assert len(inbox.pending()) == 2


def test_received_at_is_stored_in_utc(inbox: WebhookInbox) -> None:
    inbox.store("acme", "hubspot", "msg_1", AT.astimezone(timezone(timedelta(hours=5))), b"{}")
    assert inbox.pending()[0].received_at.utcoffset() == timedelta(0)
    assert inbox.pending()[0].received_at == AT
    with pytest.raises(ValueError, match="timezone-aware"):
        inbox.store("acme", "hubspot", "msg_2", datetime(2026, 3, 1), b"{}")


def test_concurrent_stores_of_one_id_from_separate_engines_store_exactly_once(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    WebhookInbox(url)
    inboxes = [WebhookInbox(url) for _ in range(10)]  # one engine each, like separate processes
    barrier = threading.Barrier(10)
    results: list[bool] = []

    def deliver(inbox: WebhookInbox) -> None:
        barrier.wait()
        results.append(inbox.store("acme", "hubspot", "msg_same", AT, b'{"n": 1}'))

    threads = [threading.Thread(target=deliver, args=(i,)) for i in inboxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 9 + [True]
    assert inboxes[0].counts()["pending"] == 1


def test_the_sensor_reads_only_newer_pending_events_in_order(inbox: WebhookInbox) -> None:
    assert inbox.max_id() == 0
    for n in range(5):
        inbox.store("acme", "hubspot", f"msg_{n}", AT, b"{}")
    events = inbox.pending()
    assert [e.delivery_id for e in events] == [f"msg_{n}" for n in range(5)]
    cursor = events[2].id
    inbox.mark_processed([events[3].id])
    assert inbox.pending_tenants_after(cursor) == [(events[4].id, "acme")]
    assert [i for i, _ in inbox.pending_tenants_after(0, limit=2)] == [events[0].id, events[1].id]
    assert inbox.max_id() == events[-1].id
    assert [e.delivery_id for e in inbox.pending(limit=2)] == ["msg_0", "msg_1"]


def test_processed_and_dead_events_leave_the_queue_but_are_kept(inbox: WebhookInbox) -> None:
    for n in range(3):
        inbox.store("acme", "hubspot", f"msg_{n}", AT, b"{}")
    first, second, third = inbox.pending()
    assert inbox.mark_processed([first.id, second.id]) == 2
    inbox.mark_dead(third.id, "ValueError: payload has no objectId")
    assert inbox.pending() == []
    assert inbox.counts() == {"pending": 0, "processed": 2, "dead": 1}
    dead = inbox.get(third.id)
    assert dead is not None and dead.status == "dead" and dead.error == "ValueError: payload has no objectId"
    assert inbox.mark_processed([third.id]) == 0  # a dead event is not resurrected by a late ack
    assert inbox.get(third.id).status == "dead"  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        inbox.mark_dead(9999, "missing")


def test_repeated_failures_go_dead_after_the_configured_attempts(inbox: WebhookInbox) -> None:
    inbox.store("acme", "hubspot", "msg_poison", AT, b"{}")
    inbox.store("acme", "hubspot", "msg_ok", AT, b"{}")
    poison, healthy = inbox.pending()
    assert inbox.record_failure(poison.id, "boom 1", max_attempts=3) == "pending"
    assert inbox.record_failure(poison.id, "boom 2", max_attempts=3) == "pending"
    assert inbox.record_failure(poison.id, "boom 3", max_attempts=3) == "dead"
    event = inbox.get(poison.id)
    assert event is not None and (event.status, event.error, event.attempts) == ("dead", "boom 3", 3)
    assert [e.delivery_id for e in inbox.pending()] == ["msg_ok"]
    with pytest.raises(ValueError, match="already dead"):
        inbox.record_failure(poison.id, "boom 4", max_attempts=3)


def test_a_body_that_is_not_utf8_is_refused_not_mangled(inbox: WebhookInbox) -> None:
    with pytest.raises(ValueError, match="not UTF-8"):
        inbox.store("acme", "hubspot", "msg_1", AT, b'{"a": "\xff"}')
    assert inbox.counts()["pending"] == 0


def test_the_inbox_survives_reopening(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    WebhookInbox(url).store("acme", "hubspot", "msg_1", AT, b'{"x": 1}')
    reopened = WebhookInbox(url)
    assert reopened.store("acme", "hubspot", "msg_1", AT, b'{"x": 1}') is False
    assert [e.body for e in reopened.pending()] == [b'{"x": 1}']
