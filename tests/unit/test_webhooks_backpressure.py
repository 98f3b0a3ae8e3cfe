"""Backlog gate: 429 for a tenant over its mark, 503 over the global mark, backlog read rarely."""

from __future__ import annotations

from connectors.webhooks.backpressure import BacklogGate, IngressLimits


class FakeBacklog:
    def __init__(self, backlog: dict[str, int]) -> None:
        self.backlog = backlog
        self.reads = 0

    def __call__(self) -> dict[str, int]:
        self.reads += 1
        return dict(self.backlog)


def test_a_tenant_over_its_mark_gets_429_others_pass() -> None:
    backlog = FakeBacklog({"acme": 10, "globex": 3})
    gate = BacklogGate(backlog, IngressLimits(max_pending_per_tenant=10, max_pending_total=100))
    refused = gate.check("acme")
    assert refused is not None and (refused.status, refused.code) == (429, "tenant_backlog_full")
    assert gate.check("globex") is None
    assert gate.check("initech") is None


def test_everyone_gets_503_over_the_global_mark() -> None:
    gate = BacklogGate(FakeBacklog({"acme": 5, "globex": 5}), IngressLimits(max_pending_total=10))
    for tenant in ("acme", "globex", "initech"):
        refused = gate.check(tenant)
        assert refused is not None and (refused.status, refused.code) == (503, "inbox_backlog_full")


def test_the_backlog_is_read_at_most_once_per_refresh_and_counted_up_locally() -> None:
    now = [0.0]
    backlog = FakeBacklog({"acme": 8})
    gate = BacklogGate(backlog, IngressLimits(max_pending_per_tenant=10, backlog_refresh_seconds=1.0),
                       clock=lambda: now[0])
    assert gate.check("acme") is None
    gate.stored("acme", 2)
    assert gate.check("acme") is not None and backlog.reads == 1
    backlog.backlog = {"acme": 0}  # a consumer drained it
    now[0] = 1.5
    assert gate.check("acme") is None and backlog.reads == 2


def test_without_marks_the_gate_never_reads_the_backlog() -> None:
    backlog = FakeBacklog({"acme": 10**9})
    gate = BacklogGate(backlog, IngressLimits())
    assert not gate.enabled and gate.check("acme") is None and backlog.reads == 0


def test_the_gate_is_fresh_only_between_refreshes() -> None:
    from connectors.webhooks.backpressure import BacklogGate, IngressLimits

    now = [100.0]
    reads = []
    gate = BacklogGate(lambda: reads.append(1) or {"acme": 3},
                       IngressLimits(max_pending_per_tenant=10), clock=lambda: now[0])
    assert not gate.fresh  # never read: the first check must go to a thread
    assert gate.check("acme") is None and reads == [1]
    assert gate.fresh
    assert gate.check("acme") is None and reads == [1]  # fresh: answered from memory, no inbox read
    now[0] += IngressLimits(max_pending_per_tenant=10).backlog_refresh_seconds + 0.1
    assert not gate.fresh
