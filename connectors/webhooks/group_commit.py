"""Group commit: the deliveries of many concurrent requests go into one durable (fsync'd) transaction,
and each request is answered only after that commit.

Requests queue on the event loop; one flusher task per loop hands the whole queue to a single writer
thread as one ``store_many`` call and resolves every request's future when it returns. While a batch
commits, the next one gathers, so under load an fsync is shared by many requests; with one request in
flight the batch is just that request. There is one thread hand-off per batch, never per request:
per-request hand-offs make the loop and the writer fight over the GIL."""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from connectors.webhooks.port import InboxOverloadedError, NewDelivery

log = logging.getLogger(__name__)

StoreMany = Callable[[Sequence[NewDelivery]], list[bool]]
_Job = tuple[list[NewDelivery], "asyncio.Future[list[bool]]"]


class _LoopQueue:
    def __init__(self) -> None:
        self.jobs: list[_Job] = []
        self.flusher: asyncio.Task[None] | None = None


class GroupCommitter:
    """Serialises writes to ``store_many`` on one thread; safe to share between event loops."""

    def __init__(self, store_many: StoreMany, max_batch: int = 500, max_queue: int = 5000) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self._store_many = store_many
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-group-commit")
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopQueue] = \
            weakref.WeakKeyDictionary()
        self._closed = False
        # Counted, not summed over the loops' queues: iterating a WeakKeyDictionary on every request
        # showed up in the receiver's profile.
        self._queued = 0
        self._count_lock = threading.Lock()  # loops on other threads may share this committer

    @property
    def queued(self) -> int:
        """Requests waiting for a commit (not counting the batch being committed)."""
        return self._queued

    async def store(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        """Store deliveries in the next commit; returns per delivery True if new, False if a duplicate."""
        if self._closed:
            raise RuntimeError("the group committer is closed")
        if self.queued >= self._max_queue:
            raise InboxOverloadedError(f"{self._max_queue} requests are already waiting for the inbox")
        loop = asyncio.get_running_loop()
        queue = self._queues.get(loop)
        if queue is None:
            queue = self._queues[loop] = _LoopQueue()
        future: asyncio.Future[list[bool]] = loop.create_future()
        queue.jobs.append((list(deliveries), future))
        with self._count_lock:
            self._queued += 1
        if queue.flusher is None or queue.flusher.done():
            queue.flusher = loop.create_task(self._flush(loop, queue))
        return await future

    async def _flush(self, loop: asyncio.AbstractEventLoop, queue: _LoopQueue) -> None:
        while queue.jobs:
            jobs, size = [], 0
            while queue.jobs and (not jobs or size + len(queue.jobs[0][0]) <= self._max_batch):
                job = queue.jobs.pop(0)
                with self._count_lock:
                    self._queued -= 1
                jobs.append(job)
                size += len(job[0])
            batch = [delivery for deliveries, _ in jobs for delivery in deliveries]
            try:
                results = await loop.run_in_executor(self._writer, self._store_many, batch)
            except Exception as exc:  # every waiting request learns the write failed; the flusher lives on
                log.warning("webhook group commit of %d deliveries failed: %s", len(batch), exc)
                for _, future in jobs:
                    if not future.done():
                        future.set_exception(exc)
                continue
            offset = 0
            for deliveries, future in jobs:
                if not future.done():  # a request whose client went away is simply not answered
                    future.set_result(results[offset:offset + len(deliveries)])
                offset += len(deliveries)

    async def aclose(self) -> None:
        """Commit what this loop has queued, then stop the writer thread."""
        self._closed = True
        queue = self._queues.get(asyncio.get_running_loop())
        if queue is not None and queue.flusher is not None:
            await asyncio.shield(queue.flusher)
        self.close()

    def close(self) -> None:
        self._closed = True
        self._writer.shutdown(wait=True)
