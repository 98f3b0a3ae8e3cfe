"""Group commit: one writer thread batches the deliveries of many concurrent requests into one durable
(fsync'd) transaction and answers each request only after that commit.

An fsync costs far more than an insert, so under load the cost of durability is shared by every
request in the batch; with one request in flight the batch is just that request."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future

from connectors.webhooks.port import InboxOverloadedError, NewDelivery

log = logging.getLogger(__name__)

StoreMany = Callable[[Sequence[NewDelivery]], list[bool]]
_Job = tuple[list[NewDelivery], "Future[list[bool]]"]


class GroupCommitter:
    """Serialises writes to ``store_many`` from a single thread, started on first use."""

    def __init__(self, store_many: StoreMany, max_batch: int = 500, max_queue: int = 5000) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self._store_many = store_many
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def queued(self) -> int:
        return self._jobs.qsize()

    def submit(self, deliveries: Sequence[NewDelivery]) -> Future[list[bool]]:
        """Queue deliveries for the next commit; the future resolves after it (or with its error)."""
        future: Future[list[bool]] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            if self._jobs.qsize() >= self._max_queue:
                raise InboxOverloadedError(f"{self._max_queue} requests are already waiting for the inbox")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-group-commit", daemon=True)
                self._thread.start()
            self._jobs.put((list(deliveries), future))
        return future

    async def store(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        return await asyncio.wrap_future(self.submit(deliveries))

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._jobs.put(None)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                break
            jobs = [first]
            size = len(first[0])
            while size < self._max_batch:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                jobs.append(job)
                size += len(job[0])
            self._commit(jobs)

    def _commit(self, jobs: list[_Job]) -> None:
        batch = [delivery for deliveries, _ in jobs for delivery in deliveries]
        try:
            results = self._store_many(batch)
        except Exception as exc:  # every waiting request learns the write failed; the thread lives on
            log.warning("webhook group commit of %d deliveries failed: %s", len(batch), exc)
            for _, future in jobs:
                future.set_exception(exc)
            return
        offset = 0
        for deliveries, future in jobs:
            future.set_result(results[offset:offset + len(deliveries)])
            offset += len(deliveries)
