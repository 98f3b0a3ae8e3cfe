"""Group commit: the deliveries of many concurrent requests go into one durable (fsync'd) transaction,
and each request is answered only after that commit.

Requests queue their deliveries and wait on a future. One writer thread takes everything queued
(up to ``max_batch`` deliveries) as one ``store_many`` call, hands each event loop its requests'
results in a single callback, and goes straight on to whatever queued meanwhile. Under load an fsync
is therefore shared by many requests, and with one request in flight the batch is just that request.

The writer does not wait for the event loop between commits. A busy loop runs a thread's callback
only after everything already in its ready queue, about a millisecond at a few thousand requests a
second. An earlier design ran each commit as a task on the loop and waited that long before the
next commit, leaving the writer idle a third of the time (``benchmarks/README.md``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence

from connectors.webhooks.port import InboxOverloadedError, NewDelivery

log = logging.getLogger(__name__)

StoreMany = Callable[[Sequence[NewDelivery]], list[bool]]
_Job = tuple[list[NewDelivery], "asyncio.Future[list[bool]]", asyncio.AbstractEventLoop]


class GroupCommitter:
    """Serialises writes to ``store_many`` on one thread; safe to share between event loops."""

    def __init__(self, store_many: StoreMany, max_batch: int = 500, max_queue: int = 5000) -> None:
        if max_batch < 1 or max_queue < 1:
            raise ValueError("max_batch and max_queue must be at least 1")
        self._store_many = store_many
        self._max_batch = max_batch
        self._max_queue = max_queue
        self._jobs: deque[_Job] = deque()
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None  # started by the first request
        self._closed = False

    @property
    def queued(self) -> int:
        """Requests waiting for a commit (not counting the batch being committed)."""
        return len(self._jobs)

    async def store(self, deliveries: Sequence[NewDelivery]) -> list[bool]:
        """Store deliveries in the next commit; returns per delivery True if new, False if a duplicate."""
        if len(self._jobs) >= self._max_queue:
            raise InboxOverloadedError(f"{self._max_queue} requests are already waiting for the inbox")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[bool]] = loop.create_future()
        with self._wake:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-group-commit", daemon=True)
                self._thread.start()
            self._jobs.append((list(deliveries), future, loop))
            self._wake.notify()
        return await future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._jobs and not self._closed:
                    self._wake.wait()
                if not self._jobs:
                    return  # closed, and everything queued before closing is committed
                jobs, size = [], 0
                while self._jobs and (not jobs or size + len(self._jobs[0][0]) <= self._max_batch):
                    job = self._jobs.popleft()
                    jobs.append(job)
                    size += len(job[0])
            batch = [delivery for deliveries, _, _ in jobs for delivery in deliveries]
            try:
                outcome: list[bool] | BaseException = self._store_many(batch)
            except Exception as exc:  # every waiting request learns the write failed; the writer lives on
                log.warning("webhook group commit of %d deliveries failed: %s", len(batch), exc)
                outcome = exc
            _answer(jobs, outcome)

    async def aclose(self) -> None:
        """Commit what is queued, then stop the writer thread."""
        thread = self._stop()
        if thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, thread.join)

    def close(self) -> None:
        """Like :meth:`aclose`, blocking; not from an event loop with requests still waiting."""
        thread = self._stop()
        if thread is not None:
            thread.join()

    def _stop(self) -> threading.Thread | None:
        with self._wake:
            self._closed = True
            self._wake.notify()
            return self._thread


def _answer(jobs: list[_Job], outcome: list[bool] | BaseException) -> None:
    """Give each job its slice of the results (or the error), one callback per event loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[list[bool]],
                                                        list[bool] | BaseException]]] = {}
    offset = 0
    for deliveries, future, loop in jobs:
        answer = outcome if isinstance(outcome, BaseException) else outcome[offset:offset + len(deliveries)]
        by_loop.setdefault(loop, []).append((future, answer))
        offset += len(deliveries)
    for loop, answers in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, answers)
        except RuntimeError:  # the loop is closed: nobody is waiting for these answers any more
            pass


def _settle(answers: list[tuple[asyncio.Future[list[bool]], list[bool] | BaseException]]) -> None:
    for future, answer in answers:
        if future.done():  # a request whose client went away is simply not answered
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)
