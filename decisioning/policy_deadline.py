"""Run a call with a deadline: the policy engine must answer in time or the proposal is denied.

The call runs on a daemon thread so that a hung evaluation can be abandoned (and cannot keep the process
from exiting). cedarpy holds the GIL while Cedar evaluates, so a waiter may wake late: a result that
arrives after the deadline is treated as a timeout too."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class EvaluationTimeoutError(TimeoutError):
    def __init__(self, timeout_s: float, elapsed_s: float | None) -> None:
        waited = "no answer" if elapsed_s is None else f"answered after {elapsed_s:.3f} s"
        super().__init__(f"policy evaluation exceeded its {timeout_s:.3f} s deadline ({waited}); "
                         "denied. Raise the engine's timeout_s only if evaluation is legitimately slow")
        self.timeout_s = timeout_s
        self.elapsed_s = elapsed_s


class _Call(Generic[T]):
    def __init__(self, fn: Callable[[], T]) -> None:
        self.fn = fn
        self.done = threading.Event()
        self.value: T | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self.fn()
        except BaseException as exc:  # handed to the waiting caller, which re-raises it
            self.error = exc
        finally:
            self.done.set()


def call_with_deadline(fn: Callable[[], T], timeout_s: float) -> T:
    """``fn()``'s result, its exception re-raised, or EvaluationTimeoutError once ``timeout_s`` passed."""
    call: _Call[T] = _Call(fn)
    started = time.monotonic()
    threading.Thread(target=call.run, name="policy-evaluation", daemon=True).start()
    answered = call.done.wait(timeout_s) or call.done.is_set()
    elapsed = time.monotonic() - started
    if not answered:
        raise EvaluationTimeoutError(timeout_s, None)
    if elapsed > timeout_s:
        raise EvaluationTimeoutError(timeout_s, elapsed)
    if call.error is not None:
        raise call.error
    return call.value  # type: ignore[return-value]
