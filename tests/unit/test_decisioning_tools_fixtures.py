"""Builders shared by the tool-plane tests (no tests here): in-memory read ports and a canonical snapshot."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from decisioning.tools import ToolPorts, ToolPrincipal, ToolSession, read_tool_registry
from perception.contracts import Signal, SignalKind
from perception.normalize import NormalizedSnapshot
from perception.schemas import SCHEMAS
from tests.unit.test_decisioning_fixtures import make_context, make_hit, make_signal
from world_model.contracts import AccountContext, MemoryHit

SNAPSHOT_AT = datetime(2025, 3, 14, 6, 0, tzinfo=UTC)
TODAY = SNAPSHOT_AT.date()


class InMemorySignals:
    def __init__(self, signals: list[Signal]) -> None:
        self.signals = signals
        self.touched: list[str] = []

    def list(self, tenant: str | None = None, kinds: list[SignalKind | str] | None = None,
             since: datetime | None = None) -> list[Signal]:
        self.touched.append("list")
        return [s for s in self.signals if (tenant is None or s.tenant == tenant)
                and (not kinds or s.kind in {SignalKind(k) for k in kinds})
                and (since is None or s.observed_at >= since)]

    def add_new(self, signals: list[Signal]) -> list[Signal]:  # a write: the views must not expose it
        self.touched.append("add_new")
        raise AssertionError("a tool wrote signals")


class FakeGraph:
    def __init__(self, contexts: dict[tuple[str, str], AccountContext]) -> None:
        self.contexts = contexts
        self.touched: list[str] = []

    def account_context(self, tenant: str, account_id: str) -> AccountContext:
        self.touched.append("account_context")
        return self.contexts.get((tenant, account_id)) or AccountContext(
            tenant=tenant, account_id=account_id, name=None, owner=None)

    def record_signals(self, signals: list[Signal]) -> int:
        self.touched.append("record_signals")
        raise AssertionError("a tool wrote to the graph")


class FakeMemory:
    def __init__(self, hits: dict[str, list[MemoryHit]]) -> None:
        self.hits = hits
        self.touched: list[str] = []

    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None) -> list[MemoryHit]:
        self.touched.append("search")
        return [h for h in self.hits.get(tenant, []) if account_id is None or h.account_id == account_id][:k]

    def upsert(self, docs: list[object]) -> int:
        self.touched.append("upsert")
        raise AssertionError("a tool wrote to memory")


class FakeSnapshots:
    def __init__(self, snapshots: dict[str, NormalizedSnapshot]) -> None:
        self.snapshots = snapshots
        self.touched: list[str] = []

    def latest(self, tenant: str) -> NormalizedSnapshot | None:
        self.touched.append("latest")
        return self.snapshots.get(tenant)

    def write(self, snapshot: NormalizedSnapshot) -> None:
        self.touched.append("write")
        raise AssertionError("a tool wrote a snapshot")


def frame(table: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMAS[table])


def make_snapshot(tenant: str = "acme", *, usage_drop: bool = True) -> NormalizedSnapshot:
    accounts = frame("accounts", [
        {"tenant": tenant, "account_id": "acc_1", "name": "Initech", "domain": "initech.example",
         "industry": "software", "owner_email": "ana@acme.example", "arr": 120000.0, "seats_licensed": 50,
         "renewal_date": TODAY + timedelta(days=45)},
    ])
    opportunities = frame("opportunities", [
        {"tenant": tenant, "opportunity_id": "opp_3", "account_id": "acc_1", "name": "Renewal 2025",
         "stage": "negotiation", "amount": 48000.0, "close_date": TODAY + timedelta(days=20),
         "owner_email": "ana@acme.example", "stage_changed_on": TODAY - timedelta(days=9)},
        {"tenant": tenant, "opportunity_id": "opp_4", "account_id": "acc_1", "name": "Add-on",
         "stage": "discovery", "amount": 12000.0, "close_date": TODAY + timedelta(days=60),
         "owner_email": "ana@acme.example", "stage_changed_on": None},
        {"tenant": tenant, "opportunity_id": "opp_0", "account_id": "acc_1", "name": "Old deal",
         "stage": "closed_won", "amount": 99000.0, "close_date": TODAY - timedelta(days=300),
         "owner_email": "ana@acme.example", "stage_changed_on": None},
    ])
    usage = []
    for back in range(35):
        day: date = TODAY - timedelta(days=back)
        active = 10 if usage_drop and back < 7 else 40
        usage.append({"tenant": tenant, "usage_id": f"acc_1|app|{day}", "account_id": "acc_1",
                      "product": "app", "day": day, "active_users": active, "seats_used": 45})
    tables = {"accounts": accounts, "opportunities": opportunities, "usage": frame("usage", usage)}
    return NormalizedSnapshot(tenant, "demo", SNAPSHOT_AT, tables)


def make_ports() -> tuple[ToolPorts, list]:
    """Read-only ports over two tenants' data (acme and globex, each with an acc_1); returns the fakes too."""
    signals = InMemorySignals([
        make_signal(SignalKind.usage_drop),
        make_signal(SignalKind.deal_slipped),
        make_signal(SignalKind.usage_drop, account_id="acc_2"),
        make_signal(SignalKind.usage_drop, tenant="globex", narrative="GLOBEX-CANARY usage fell."),
    ])
    graph = FakeGraph({("acme", "acc_1"): make_context(),
                       ("globex", "acc_1"): make_context(tenant="globex", name="GLOBEX-CANARY")})
    canary = MemoryHit(doc_id="mem_g", source="note", account_id="acc_1", snippet="GLOBEX-CANARY", score=0.9)
    memory = FakeMemory({"acme": [make_hit()], "globex": [canary]})
    snapshots = FakeSnapshots({"acme": make_snapshot(), "globex": make_snapshot("globex")})
    fakes = [signals, graph, memory, snapshots]
    return ToolPorts.read_only(signals, graph, memory, snapshots), fakes


def make_session(tenant: str = "acme", principal: ToolPrincipal | None = None, **kwargs: object
                 ) -> ToolSession:
    ports, _ = make_ports()
    return ToolSession(read_tool_registry(ports), tenant, principal or ToolPrincipal("bedrock-agent"),
                       **kwargs)  # type: ignore[arg-type]
