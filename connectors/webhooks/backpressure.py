"""Backpressure: refuse new deliveries while the inbox backlog is above its high-water marks.

Per tenant over its mark -> 429 (that tenant's senders slow down, others are unaffected); all
tenants together over the global mark -> 503. Both carry Retry-After. The backlog is read from the
inbox at most every ``refresh_seconds`` and counted up locally in between, so the check costs no
query per request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IngressLimits:
    max_body_bytes: int = 256_000
    max_pending_per_tenant: int | None = None
    max_pending_total: int | None = None
    retry_after_seconds: int = 30
    backlog_refresh_seconds: float = 0.5


@dataclass(frozen=True)
class Overload:
    status: int
    code: str
    message: str


class BacklogGate:
    def __init__(self, read_backlog: Callable[[], dict[str, int]], limits: IngressLimits,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read_backlog
        self._limits = limits
        self._clock = clock
        self._lock = threading.Lock()
        self._backlog: dict[str, int] = {}
        self._total = 0
        self._read_at: float | None = None

    @property
    def enabled(self) -> bool:
        return self._limits.max_pending_per_tenant is not None or self._limits.max_pending_total is not None

    @property
    def fresh(self) -> bool:
        """The backlog figures are recent: :meth:`check` will not read the inbox, so it cannot block."""
        read_at = self._read_at
        return read_at is not None and self._clock() - read_at < self._limits.backlog_refresh_seconds

    def check(self, tenant: str) -> Overload | None:
        """Blocking when a refresh is due (it reads the inbox): then call it from a worker thread."""
        if not self.enabled:
            return None
        self._refresh()
        limits = self._limits
        if limits.max_pending_total is not None and self._total >= limits.max_pending_total:
            return Overload(503, "inbox_backlog_full", f"the inbox holds {self._total} unprocessed events "
                            f"(limit {limits.max_pending_total}); retry later")
        pending = self._backlog.get(tenant, 0)
        if limits.max_pending_per_tenant is not None and pending >= limits.max_pending_per_tenant:
            return Overload(429, "tenant_backlog_full", f"this tenant has {pending} unprocessed events "
                            f"(limit {limits.max_pending_per_tenant}); retry later")
        return None

    def stored(self, tenant: str, new_events: int) -> None:
        with self._lock:
            self._backlog[tenant] = self._backlog.get(tenant, 0) + new_events
            self._total += new_events

    def _refresh(self) -> None:
        now = self._clock()
        if self._read_at is not None and now - self._read_at < self._limits.backlog_refresh_seconds:
            return
        if not self._lock.acquire(blocking=self._read_at is None):
            return  # another request is refreshing; the previous figures are recent enough
        try:
            backlog = self._read()
            self._backlog, self._total, self._read_at = backlog, sum(backlog.values()), self._clock()
        finally:
            self._lock.release()
