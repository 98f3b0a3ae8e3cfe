"""Group commit: concurrent requests share one store_many call; each learns its own result or error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from connectors.webhooks.group_commit import GroupCommitter
from connectors.webhooks.port import InboxOverloadedError, InboxStorageError, NewDelivery

AT = datetime(2026, 3, 1, tzinfo=UTC)


def delivery(n: int) -> NewDelivery:
    return NewDelivery("acme", "demo", f"msg_{n}", AT, b"{}")


class InMemoryInbox:
    def __init__(self, gate: threading.Event | None = None) -> None:
        self.seen: set[str] = set()
        self.batches: list[int] = []
        self.gate = gate
        self.fail_next = False

    def store_many(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail_next:
            self.fail_next = False
            raise InboxStorageError("disk full")
        self.batches.append(len(deliveries))
        out = []
        for d in deliveries:
            out.append(d.delivery_id not in self.seen)
            self.seen.add(d.delivery_id)
        return out


def test_concurrent_requests_are_committed_together_and_get_their_own_results() -> None:
    gate = threading.Event()
    inbox = InMemoryInbox(gate)
    committer = GroupCommitter(inbox.store_many, max_batch=100)

    async def main() -> list[list[bool]]:
        first = asyncio.ensure_future(committer.store([delivery(0)]))  # holds the writer at the gate
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(committer.store([delivery(n), delivery(n)])) for n in range(1, 21)]
        await asyncio.sleep(0.05)
        gate.set()
        return [await first] + [await r for r in rest]

    results = asyncio.run(main())
    committer.close()
    assert results == [[True]] + [[True, False]] * 20
    assert inbox.batches == [1, 40]


def test_a_failed_commit_fails_every_request_in_it_and_the_writer_carries_on() -> None:
    inbox = InMemoryInbox()
    committer = GroupCommitter(inbox.store_many)
    inbox.fail_next = True
    with pytest.raises(InboxStorageError, match="disk full"):
        committer.submit([delivery(1)]).result(5)
    assert committer.submit([delivery(1)]).result(5) == [True]
    committer.close()


def test_a_full_queue_refuses_new_work_instead_of_growing_without_bound() -> None:
    gate = threading.Event()
    committer = GroupCommitter(InMemoryInbox(gate).store_many, max_batch=1, max_queue=2)
    futures = [committer.submit([delivery(0)])]
    while committer.queued:  # the writer has taken the first job and waits at the gate
        pass
    futures += [committer.submit([delivery(n)]) for n in (1, 2)]
    with pytest.raises(InboxOverloadedError):
        committer.submit([delivery(3)])
    gate.set()
    assert [f.result(5) for f in futures] == [[True]] * 3
    committer.close()


def test_close_commits_what_is_queued_then_refuses() -> None:
    inbox = InMemoryInbox()
    committer = GroupCommitter(inbox.store_many)
    future = committer.submit([delivery(1)])
    committer.close()
    assert future.result(1) == [True]
    with pytest.raises(RuntimeError, match="closed"):
        committer.submit([delivery(2)])
