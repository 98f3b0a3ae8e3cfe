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
        self.threads: set[str] = set()

    def store_many(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        self.threads.add(threading.current_thread().name)
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


def test_requests_arriving_during_a_commit_share_the_next_one_and_get_their_own_results() -> None:
    gate = threading.Event()
    inbox = InMemoryInbox(gate)
    committer = GroupCommitter(inbox.store_many, max_batch=100)

    async def main() -> list[list[bool]]:
        first = asyncio.ensure_future(committer.store([delivery(0)]))  # held at the gate
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(committer.store([delivery(n), delivery(n)])) for n in range(1, 21)]
        await asyncio.sleep(0.05)
        assert committer.queued == 20
        gate.set()
        answers = [await first] + [await r for r in rest]
        await committer.aclose()
        return answers

    assert asyncio.run(main()) == [[True]] + [[True, False]] * 20
    assert inbox.batches == [1, 40]
    assert len(inbox.threads) == 1 and inbox.threads != {threading.current_thread().name}


def test_batches_respect_max_batch() -> None:
    gate = threading.Event()
    inbox = InMemoryInbox(gate)
    committer = GroupCommitter(inbox.store_many, max_batch=5)

    async def main() -> None:
        first = asyncio.ensure_future(committer.store([delivery(0)]))  # held at the gate
        await asyncio.sleep(0.05)
        tasks = [asyncio.ensure_future(committer.store([delivery(n)])) for n in range(1, 13)]
        await asyncio.sleep(0.05)
        assert committer.queued == 12
        gate.set()
        await asyncio.gather(first, *tasks)
        await committer.aclose()

    asyncio.run(main())
    assert inbox.batches == [1, 5, 5, 2]


def test_a_failed_commit_fails_every_request_in_it_and_later_requests_still_commit() -> None:
    inbox = InMemoryInbox()
    committer = GroupCommitter(inbox.store_many)

    async def main() -> list[bool]:
        inbox.fail_next = True
        with pytest.raises(InboxStorageError, match="disk full"):
            await committer.store([delivery(1)])
        answer = await committer.store([delivery(1)])
        await committer.aclose()
        return answer

    assert asyncio.run(main()) == [True]


def test_a_full_queue_refuses_new_work_instead_of_growing_without_bound() -> None:
    gate = threading.Event()
    committer = GroupCommitter(InMemoryInbox(gate).store_many, max_batch=1, max_queue=2)

    async def main() -> list[list[bool]]:
        tasks = [asyncio.ensure_future(committer.store([delivery(0)]))]
        await asyncio.sleep(0.05)  # the first is committing, held at the gate
        tasks += [asyncio.ensure_future(committer.store([delivery(n)])) for n in (1, 2)]
        await asyncio.sleep(0.01)  # two are queued: the limit
        with pytest.raises(InboxOverloadedError):
            await committer.store([delivery(3)])
        gate.set()
        answers = list(await asyncio.gather(*tasks))
        await committer.aclose()
        return answers

    assert asyncio.run(main()) == [[True]] * 3


def test_one_committer_serves_several_event_loops_and_refuses_work_once_closed() -> None:
    inbox = InMemoryInbox()
    committer = GroupCommitter(inbox.store_many)
    assert asyncio.run(committer.store([delivery(1)])) == [True]
    assert asyncio.run(committer.store([delivery(1), delivery(2)])) == [False, True]
    committer.close()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(committer.store([delivery(3)]))
