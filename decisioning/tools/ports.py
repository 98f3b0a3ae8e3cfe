"""The read-only views the tools are bound to. The agent's tool plane gets these, never the stores.

Each view exposes only the reads a tool needs, so a handler has no write method to call: the agent
process holds no write path to signals, graph, memory or snapshots (RELIABILITY.md #18)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from perception.contracts import Signal, SignalKind
from perception.normalize import NormalizedSnapshot
from world_model.contracts import AccountContext, MemoryHit


class SignalReads(Protocol):
    def list(self, tenant: str | None = None, kinds: list[SignalKind | str] | None = None,
             since: datetime | None = None) -> list[Signal]: ...


class GraphReads(Protocol):
    def account_context(self, tenant: str, account_id: str) -> AccountContext: ...


class MemoryReads(Protocol):
    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None
               ) -> list[MemoryHit]: ...


class SnapshotReads(Protocol):
    def latest(self, tenant: str) -> NormalizedSnapshot | None: ...


class _SignalView:
    __slots__ = ("_list",)

    def __init__(self, store: SignalReads) -> None:
        self._list = store.list

    def list(self, tenant: str | None = None, kinds: list[SignalKind | str] | None = None,
             since: datetime | None = None) -> list[Signal]:
        return self._list(tenant, kinds, since)


class _GraphView:
    __slots__ = ("_context",)

    def __init__(self, graph: GraphReads) -> None:
        self._context = graph.account_context

    def account_context(self, tenant: str, account_id: str) -> AccountContext:
        return self._context(tenant, account_id)


class _MemoryView:
    __slots__ = ("_search",)

    def __init__(self, memory: MemoryReads) -> None:
        self._search = memory.search

    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None) -> list[MemoryHit]:
        return self._search(tenant, query, k=k, account_id=account_id)


class _SnapshotView:
    __slots__ = ("_latest",)

    def __init__(self, snapshots: SnapshotReads) -> None:
        self._latest = snapshots.latest

    def latest(self, tenant: str) -> NormalizedSnapshot | None:
        return self._latest(tenant)


@dataclass(frozen=True)
class ToolPorts:
    """What the read tools read. Build with :meth:`read_only` from the real stores."""

    signals: SignalReads
    graph: GraphReads
    memory: MemoryReads
    snapshots: SnapshotReads

    @classmethod
    def read_only(cls, signals: SignalReads, graph: GraphReads, memory: MemoryReads,
                  snapshots: SnapshotReads) -> ToolPorts:
        """Views holding bound read methods only (SignalStore, SituationGraph, SemanticMemory and
        NormalizedSnapshotStore fit)."""
        return cls(_SignalView(signals), _GraphView(graph), _MemoryView(memory), _SnapshotView(snapshots))
