"""Contract suite of the situation graph, run against every adapter (today: gremlite)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.schemas import SCHEMAS
from world_model.graph import SituationGraph, open_gremlite_graph
from world_model.projection import SnapshotError
from world_model.tenancy import InvalidTenantError

GraphFactory = Callable[[], SituationGraph]


def _gremlite(tmp_path: Path) -> GraphFactory:
    return lambda: open_gremlite_graph(tmp_path / "graph.sqlite")


ADAPTERS = {"gremlite": _gremlite}


@pytest.fixture(params=sorted(ADAPTERS))
def open_graph(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphFactory]:
    opened: list[SituationGraph] = []

    def factory() -> SituationGraph:
        graph = ADAPTERS[request.param](tmp_path)()
        opened.append(graph)
        return graph

    yield factory
    for graph in opened:
        graph.close()


@pytest.fixture
def graph(open_graph: GraphFactory) -> SituationGraph:
    return open_graph()


def account(tenant: str, account_id: str, name: str, arr: float = 120_000.5) -> dict:
    return {"tenant": tenant, "account_id": account_id, "name": name, "domain": f"{account_id}.example",
            "industry": "software", "owner_email": "rep@vendor.example", "arr": arr, "seats_licensed": 50,
            "renewal_date": date(2026, 3, 31)}


def contact(tenant: str, contact_id: str, account_id: str, role: str = "user", status: str = "active",
            name: str | None = None) -> dict:
    return {"tenant": tenant, "contact_id": contact_id, "account_id": account_id,
            "name": name or f"Person {contact_id}", "email": f"{contact_id}@customer.example",
            "title": "VP Operations" if role != "user" else None, "role": role, "status": status}


def opportunity(tenant: str, opportunity_id: str, account_id: str, stage: str = "negotiation",
                amount: float = 25_000.25, stage_changed_on: date = date(2026, 1, 1)) -> dict:
    return {"tenant": tenant, "opportunity_id": opportunity_id, "account_id": account_id,
            "name": f"Renewal {opportunity_id}", "stage": stage, "amount": amount,
            "close_date": date(2026, 2, 15), "owner_email": "rep@vendor.example",
            "stage_changed_on": stage_changed_on}


def activity(tenant: str, activity_id: str, account_id: str, day: date, contact_id: str | None = None,
             opportunity_id: str | None = None, kind: str = "call", subject: str = "Check-in") -> dict:
    return {"tenant": tenant, "activity_id": activity_id, "account_id": account_id,
            "opportunity_id": opportunity_id, "contact_id": contact_id, "type": kind, "direction": "outbound",
            "subject": subject, "occurred_on": day}


def usage(tenant: str, account_id: str, product: str, day: date, active: int) -> dict:
    return {"tenant": tenant, "usage_id": f"{account_id}|{product}|{day.isoformat()}",
            "account_id": account_id, "product": product, "day": day,
            "active_users": active, "seats_used": active + 2}


def tables(accounts: list[dict], contacts: list[dict], opportunities: list[dict],
           usage_rows: list[dict], activities: list[dict] | None = None) -> dict[str, pl.DataFrame]:
    rows = {"accounts": accounts, "contacts": contacts, "opportunities": opportunities, "usage": usage_rows,
            "activities": activities or []}
    return {name: pl.DataFrame(rows.get(name, []), schema=SCHEMAS[name]) for name in SCHEMAS}


def base_snapshot(tenant: str = "acme", canary: str = "") -> dict[str, pl.DataFrame]:
    return tables(
        [account(tenant, "a1", f"Initech{canary}"), account(tenant, "a2", "Umbrella")],
        [contact(tenant, "c1", "a1", role="champion", name=f"Ada{canary}"),
         contact(tenant, "c2", "a1", role="economic_buyer"),
         contact(tenant, "c3", "a1"),
         contact(tenant, "c4", "a2", role="champion")],
        [opportunity(tenant, "o1", "a1"), opportunity(tenant, "o2", "a1", stage="closed_won"),
         opportunity(tenant, "o3", "a2")],
        [usage(tenant, "a1", "analytics", date(2026, 1, 1), 40),
         usage(tenant, "a1", "analytics", date(2026, 1, 2), 35),
         usage(tenant, "a2", "analytics", date(2026, 1, 2), 10),
         usage(tenant, "a2", "workflows", date(2026, 1, 2), 5)],
        [activity(tenant, "e1", "a1", date(2026, 1, 2), contact_id="c1", opportunity_id="o1",
                  subject=f"Pricing call{canary}"),
         activity(tenant, "e2", "a1", date(2026, 1, 3), contact_id="c2", kind="email")],
    )


def signal(tenant: str, account_id: str, entity_type: str, entity_id: str, kind: SignalKind,
           narrative: str, minute: int = 0) -> Signal:
    return Signal(
        tenant=tenant, account_id=account_id, entity_type=entity_type, entity_id=entity_id, kind=kind,
        severity=Severity.high,
        evidence=[Evidence(object="contacts", entity_id=entity_id, field="status", before="active",
                           after="departed")],
        observed_at=datetime(2026, 1, 3, 9, minute, tzinfo=UTC), source="demo",
        dedupe_key=f"{kind.value}:{entity_id}", narrative=narrative,
    )


EXPECTED_BASE_COUNTS = {
    "Tenant": 1, "Account": 2, "Contact": 4, "Opportunity": 3, "Product": 2, "Signal": 0, "Risk": 0,
    "Event": 5,  # 2 activities + the stage each of the 3 deals entered
    "WORKS_AT": 4, "CHAMPION_OF": 2, "HAS_OPPORTUNITY": 3, "USES": 3, "RAISED": 0, "ABOUT": 0,
    "EVIDENCES": 0, "AFFECTS": 0, "OCCURRED_AT": 5, "ON_OPPORTUNITY": 4, "INVOLVES": 2,
}


def test_first_sync_builds_the_schema(graph: SituationGraph) -> None:
    stats = graph.sync_snapshot("acme", base_snapshot())

    assert graph.counts("acme") == EXPECTED_BASE_COUNTS
    assert stats.vertices_upserted == 17
    assert stats.edges_upserted == 23
    assert (stats.vertices_removed, stats.edges_removed) == (0, 0)


def test_resyncing_the_same_snapshot_changes_nothing(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    before = graph.counts("acme")
    context_before = graph.account_context("acme", "a1")

    stats = graph.sync_snapshot("acme", base_snapshot())

    assert stats.model_dump() == {"vertices_upserted": 0, "edges_upserted": 0, "vertices_removed": 0,
                                  "edges_removed": 0}
    assert graph.counts("acme") == before
    assert graph.account_context("acme", "a1") == context_before


def test_changed_snapshot_applies_its_diff(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    changed = tables(
        [account("acme", "a1", "Initech Global", arr=99_000.75), account("acme", "a2", "Umbrella")],
        [contact("acme", "c1", "a1", role="champion", status="departed"),
         contact("acme", "c2", "a1", role="economic_buyer"),
         contact("acme", "c4", "a2", role="champion")],
        [opportunity("acme", "o1", "a1", stage="closed_lost"), opportunity("acme", "o2", "a1", "closed_won"),
         opportunity("acme", "o3", "a2"), opportunity("acme", "o4", "a1", stage="discovery")],
        [usage("acme", "a1", "analytics", date(2026, 1, 3), 12),
         usage("acme", "a2", "analytics", date(2026, 1, 3), 10)],
        [activity("acme", "e1", "a1", date(2026, 1, 2), contact_id="c1", opportunity_id="o1")],
    )

    stats = graph.sync_snapshot("acme", changed)

    context = graph.account_context("acme", "a1")
    assert context.name == "Initech Global"
    assert [c.contact_id for c in context.contacts] == ["c1", "c2"]  # c3 removed
    assert next(c for c in context.contacts if c.contact_id == "c1").status == "departed"
    assert context.champions == []  # c1 departed: CHAMPION_OF gone
    assert [o.opportunity_id for o in context.open_opportunities] == ["o4"]
    counts = graph.counts("acme")
    assert counts["Contact"] == 3 and counts["CHAMPION_OF"] == 1 and counts["WORKS_AT"] == 3
    assert counts["Product"] == 1 and counts["USES"] == 2  # workflows no longer used by anyone
    assert counts["Event"] == 6  # e2 gone; o1 entered closed_lost, o4 entered discovery
    assert stats.vertices_removed == 3  # contact c3, product workflows, activity e2
    assert stats.edges_removed == 5  # c3 WORKS_AT, c1 CHAMPION_OF, a2 USES workflows, e2's two edges
    again = graph.counts("acme")
    assert graph.sync_snapshot("acme", changed).model_dump() == dict.fromkeys(stats.model_dump(), 0)
    assert graph.counts("acme") == again


def test_removed_account_takes_its_edges_but_not_its_signals(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    graph.record_signals([signal("acme", "a2", "account", "a2", SignalKind.usage_drop, "Usage fell")])
    snapshot = base_snapshot()
    without_a2 = {name: frame.filter(pl.col("account_id") != "a2") for name, frame in snapshot.items()}

    graph.sync_snapshot("acme", without_a2)

    counts = graph.counts("acme")
    assert counts["Account"] == 1 and counts["Opportunity"] == 2 and counts["Contact"] == 3
    assert counts["HAS_OPPORTUNITY"] == 2 and counts["RAISED"] == 0
    assert counts["Signal"] == 1 and counts["Risk"] == 1 and counts["EVIDENCES"] == 1
    assert counts["AFFECTS"] == 0  # the risk stays, with nothing left to affect
    assert counts["Event"] == 4  # o3's stage event went with it
    assert graph.account_context("acme", "a2").name is None


def test_account_context_returns_evidence_paths(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    departed = signal("acme", "a1", "contact", "c1", SignalKind.champion_departed, "Ada left", minute=5)
    drop = signal("acme", "a1", "account", "a1", SignalKind.usage_drop, "Usage fell", minute=1)
    graph.record_signals([drop, departed])

    context = graph.account_context("acme", "a1")

    assert context.name == "Initech" and context.owner == "rep@vendor.example"
    assert [c.contact_id for c in context.champions] == ["c1"]
    assert [c.contact_id for c in context.contacts] == ["c1", "c2", "c3"]
    assert [(o.opportunity_id, o.amount) for o in context.open_opportunities] == [("o1", 25_000.25)]
    assert context.recent_signal_ids == [departed.signal_id, drop.signal_id]  # newest first
    steps = [p.steps for p in context.paths]
    assert ["Account:a1", "CHAMPION_OF", "Contact:c1"] in steps
    assert ["Account:a1", "HAS_OPPORTUNITY", "Opportunity:o1"] in steps
    assert ["Account:a1", "RAISED", f"Signal:{departed.signal_id}", "ABOUT", "Contact:c1"] in steps
    assert ["Account:a1", "RAISED", f"Signal:{drop.signal_id}"] in steps


def test_unknown_account_gives_an_empty_context(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())

    context = graph.account_context("acme", "nope")

    assert context.name is None and context.owner is None
    assert context.contacts == context.champions == context.open_opportunities == context.paths == []


def test_record_signals_is_idempotent(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    batch = [signal("acme", "a1", "contact", "c1", SignalKind.champion_departed, "Ada left"),
             signal("acme", "a1", "opportunity", "o1", SignalKind.deal_slipped, "o1 slipped")]

    assert graph.record_signals(batch) == 2
    once = graph.counts("acme")
    assert graph.record_signals(batch + batch) == 0

    assert graph.counts("acme") == once
    assert (once["Signal"], once["RAISED"], once["ABOUT"]) == (2, 2, 2)
    assert (once["Risk"], once["EVIDENCES"], once["AFFECTS"]) == (2, 2, 4)


def test_signal_before_its_account_links_once_the_account_arrives(graph: SituationGraph) -> None:
    early = signal("acme", "a1", "account", "a1", SignalKind.usage_drop, "Usage fell")
    assert graph.record_signals([early]) == 1
    assert graph.counts("acme")["RAISED"] == 0

    graph.sync_snapshot("acme", base_snapshot())
    assert graph.record_signals([early]) == 0

    assert graph.account_context("acme", "a1").recent_signal_ids == [early.signal_id]


def test_tenants_are_isolated(graph: SituationGraph) -> None:
    canary = "CANARY-globex-7f3a"
    graph.sync_snapshot("acme", base_snapshot("acme"))
    acme_counts = graph.counts("acme")
    acme_context = graph.account_context("acme", "a1")

    # Same account/contact ids in the other tenant, carrying canaries everywhere.
    graph.sync_snapshot("globex", base_snapshot("globex", canary=canary))
    graph.record_signals([signal("globex", "a1", "contact", "c1", SignalKind.champion_departed, canary)])

    assert graph.counts("acme") == acme_counts
    context = graph.account_context("acme", "a1")
    assert context == acme_context
    assert canary not in context.model_dump_json()
    assert canary in graph.account_context("globex", "a1").model_dump_json()

    graph.sync_snapshot("acme", tables([], [], [], []))  # acme empties out; globex is untouched
    assert graph.counts("acme")["Account"] == 0
    assert graph.counts("globex")["Account"] == 2


def test_rows_of_another_tenant_are_refused(graph: SituationGraph) -> None:
    snapshot = base_snapshot("acme")
    snapshot["contacts"] = pl.concat([snapshot["contacts"], base_snapshot("globex")["contacts"]])

    with pytest.raises(SnapshotError, match="another tenant"):
        graph.sync_snapshot("acme", snapshot)

    assert graph.counts("acme")["Contact"] == 0
    with pytest.raises(InvalidTenantError):
        graph.account_context("acme|Account|a1", "x")


def test_graph_persists_across_reopen(open_graph: GraphFactory) -> None:
    first = open_graph()
    first.sync_snapshot("acme", base_snapshot())
    first.close()

    assert open_graph().counts("acme") == EXPECTED_BASE_COUNTS


def test_sync_of_200_accounts_takes_seconds(graph: SituationGraph) -> None:
    accounts, contacts, opportunities, usage_rows = [], [], [], []
    for a in range(200):
        aid = f"a{a}"
        accounts.append(account("acme", aid, f"Account {a}"))
        contacts += [contact("acme", f"c{a}_{i}", aid, role="champion" if i == 0 else "user")
                     for i in range(5)]
        opportunities += [opportunity("acme", f"o{a}_{i}", aid) for i in range(3)]
        usage_rows += [usage("acme", aid, p, date(2026, 1, 2), 10) for p in ("analytics", "workflows")]
    snapshot = tables(accounts, contacts, opportunities, usage_rows)

    started = time.perf_counter()
    stats = graph.sync_snapshot("acme", snapshot)
    elapsed = time.perf_counter() - started

    assert stats.vertices_upserted == 1 + 200 + 1000 + 600 + 2 + 600  # + one stage event per deal
    assert stats.edges_upserted == 1000 + 200 + 600 + 400 + 2 * 600
    assert elapsed < 20, f"sync took {elapsed:.1f}s"
    assert graph.sync_snapshot("acme", snapshot).edges_upserted == 0
