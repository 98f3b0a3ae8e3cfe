"""Bounded retries with backoff and jitter, and the per-second throttle."""

from __future__ import annotations

import random

import pytest

from connectors.retry import (
    RetriesExhausted,
    Retryable,
    RetryPolicy,
    Throttle,
    call_with_retry,
    parse_retry_after,
)


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def classify(error: Exception) -> Retryable | None:
    if isinstance(error, ConnectionError):
        return Retryable(0, str(error))
    if isinstance(error, TimeoutError):
        return Retryable(429, "slow down", retry_after=float(str(error)))
    return None


def test_transient_failures_back_off_exponentially_within_the_cap() -> None:
    slept: list[float] = []
    fn = Flaky([ConnectionError("reset")] * 4)
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=3.0)
    assert call_with_retry(fn, what="x", classify=classify, policy=policy, sleep=slept.append,
                           rng=random.Random(1)) == "ok"
    assert fn.calls == 5
    caps = [1.0, 2.0, 3.0, 3.0]
    assert all(0 <= s <= cap for s, cap in zip(slept, caps, strict=True))
    assert len(set(slept)) == 4  # jittered, not a fixed schedule


def test_retry_after_is_honoured_and_an_absurd_one_gives_up() -> None:
    slept: list[float] = []
    policy = RetryPolicy(base_delay=0.5, max_retry_after=60)
    call_with_retry(Flaky([TimeoutError("12")]), what="x", classify=classify, policy=policy,
                    sleep=slept.append)
    assert 12 <= slept[0] <= 12.5
    with pytest.raises(RetriesExhausted, match="HTTP 429"):
        call_with_retry(Flaky([TimeoutError("3600")]), what="x", classify=classify, policy=policy,
                        sleep=slept.append)


def test_exhaustion_names_the_call_attempts_and_last_status() -> None:
    fn = Flaky([ConnectionError("refused")] * 9)
    with pytest.raises(RetriesExhausted, match=r"pull companies: gave up after 3 attempts.*connection error"):
        call_with_retry(fn, what="pull companies", classify=classify, policy=RetryPolicy(max_attempts=3),
                        sleep=lambda s: None)
    assert fn.calls == 3


def test_permanent_errors_propagate_without_retrying() -> None:
    fn = Flaky([PermissionError("bad token")])
    with pytest.raises(PermissionError):
        call_with_retry(fn, what="x", classify=classify, policy=RetryPolicy(), sleep=lambda s: None)
    assert fn.calls == 1


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0.5 ") == 0.5
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert parse_retry_after(None) is None


def test_throttle_spaces_calls_to_the_rate() -> None:
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    throttle = Throttle(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        throttle.wait()
    assert slept == pytest.approx([0.25, 0.25, 0.25, 0.25])
    with pytest.raises(ValueError):
        Throttle(0)
