"""Bounded retries with exponential backoff and full jitter, and a client-side request throttle.

Shared by the CRM pull connectors. Each connector classifies its SDK's errors into "retry after a
while" (rate limits, 5xx, dropped connections) or "give up now" (bad credentials, a daily quota); this
module only does the waiting and the counting. Sleep, clock and randomness are injected so tests never
wait."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1)
    max_delay: float = 30.0
    max_retry_after: float = 120.0  # a server asking for longer than this is treated as exhausted

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max_delay, base * 2**(attempt-1))]."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Retryable:
    """A transient failure: ``status`` is the HTTP status (0 for a connection error)."""

    status: int
    detail: str
    retry_after: float | None = None  # seconds the server asked us to wait


class RetriesExhausted(RuntimeError):
    """A call kept failing transiently until the retry budget ran out."""

    def __init__(self, what: str, attempts: int, last: Retryable) -> None:
        self.what = what
        self.attempts = attempts
        self.last_status = last.status
        status = "a connection error" if last.status == 0 else f"HTTP {last.status}"
        super().__init__(
            f"{what}: gave up after {attempts} attempts; last failure was {status}: {last.detail}. "
            "The source is unavailable or throttling us; run the pull again later (cursors were not "
            "advanced, so nothing is skipped)")


Classifier = Callable[[Exception], Retryable | None]


def call_with_retry(fn: Callable[[], T], *, what: str, classify: Classifier, policy: RetryPolicy,
                    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> T:
    """Call ``fn``; on an error ``classify`` calls transient, wait and try again (bounded).

    Errors ``classify`` returns None for propagate unchanged on the first occurrence."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except Exception as error:  # noqa: BLE001 - classify decides; unknown errors re-raise below
            transient = classify(error)
            if transient is None:
                raise
            if attempt >= policy.max_attempts:
                raise RetriesExhausted(what, attempt, transient) from error
            if transient.retry_after is not None:
                if transient.retry_after > policy.max_retry_after:
                    raise RetriesExhausted(what, attempt, transient) from error
                delay = transient.retry_after + rng.uniform(0.0, policy.base_delay)
            else:
                delay = policy.backoff(attempt, rng)
            sleep(delay)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are not sent by CRMs)."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return max(0.0, seconds)


class Throttle:
    """Spaces calls at least ``1/rate`` seconds apart, to stay under a vendor's per-second limit."""

    def __init__(self, rate_per_second: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate_per_second <= 0:
            raise ValueError(f"rate_per_second must be positive, got {rate_per_second}")
        self.interval = 1.0 / rate_per_second
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            self._sleep(start - now)
