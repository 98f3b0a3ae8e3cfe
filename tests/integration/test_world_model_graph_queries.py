"""The agent's typed graph queries, run against every graph adapter: answers and the paths behind them."""

from __future__ import annotations

from datetime import date

import pytest

from perception.contracts import Severity, SignalKind
from world_model.graph import SituationGraph
from world_model.tenancy import InvalidTenantError

from . import test_world_model_graph_contract as contract
from .test_world_model_graph_contract import (
    GraphFactory,
    account,
    activity,
    base_snapshot,
    contact,
    opportunity,
    signal,
    tables,
)

open_graph = contract.open_graph  # the contract suite's adapters, one run per adapter


@pytest.fixture
def graph(open_graph: GraphFactory) -> SituationGraph:
    return open_graph()


def steps(paths: list) -> list[list[str]]:
    return [p.steps for p in paths]


def test_neighbourhood_lists_products_and_neighbours(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())

    hood = graph.neighbourhood("acme", "a1")

    assert hood.found and hood.properties["name"] == "Initech"
    assert [(p.product, p.last_day, p.active_users) for p in hood.products] == [
        ("analytics", "2026-01-02", 35)]
    # 3 contacts (c1 once, though it both works at and champions a1), 2 deals, 2 activities + 2 stage events
    assert hood.neighbours == {"Contact": 3, "Event": 4, "Opportunity": 2, "Product": 1}
    assert steps(hood.paths) == [["Account:a1", "USES", "Product:analytics"]]
    assert not graph.neighbourhood("acme", "nope").found


def test_buying_committee_puts_the_champion_first_with_the_deals_they_work(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())

    committee = graph.buying_committee("acme", "a1")

    assert [m.contact.contact_id for m in committee.members] == ["c1", "c2", "c3"]
    assert committee.champion is not None and committee.champion.contact_id == "c1"
    assert committee.has_active_champion
    assert [c.contact_id for c in committee.economic_buyers] == ["c2"]
    ada = committee.members[0]
    assert ada.is_champion and ada.opportunity_ids == ["o1"] and ada.last_engaged_on == "2026-01-02"
    assert ["Account:a1", "CHAMPION_OF", "Contact:c1"] in steps(ada.paths)
    assert ["Account:a1", "WORKS_AT", "Contact:c1", "INVOLVES", "Event:activity:e1", "ON_OPPORTUNITY",
            "Opportunity:o1"] in steps(ada.paths)
    assert committee.members[1].last_engaged_on == "2026-01-03" and committee.members[1].opportunity_ids == []


def test_a_departed_champion_leaves_the_committee_without_a_champion(graph: SituationGraph) -> None:
    snapshot = base_snapshot()
    graph.sync_snapshot("acme", snapshot)
    contacts = [contact("acme", "c1", "a1", role="champion", status="departed"),
                contact("acme", "c2", "a1", role="economic_buyer")]
    snapshot["contacts"] = tables([], contacts, [], [])["contacts"]

    graph.sync_snapshot("acme", snapshot)

    committee = graph.buying_committee("acme", "a1")
    assert committee.champion is None and not committee.has_active_champion
    assert {m.contact.contact_id: m.contact.status for m in committee.members} == {"c1": "departed",
                                                                                   "c2": "active"}


def test_open_opportunities_carry_their_stage_history(graph: SituationGraph) -> None:
    snapshot = base_snapshot()
    graph.sync_snapshot("acme", snapshot)
    regressed = [opportunity("acme", "o1", "a1", stage="proposal", stage_changed_on=date(2026, 1, 4)),
                 opportunity("acme", "o2", "a1", stage="closed_won"), opportunity("acme", "o3", "a2")]
    snapshot["opportunities"] = tables([], [], regressed, [])["opportunities"]

    graph.sync_snapshot("acme", snapshot)
    graph.sync_snapshot("acme", snapshot)  # no new history from a re-sync

    [o1] = graph.open_opportunities("acme", "a1")
    assert (o1.opportunity.opportunity_id, o1.opportunity.stage, o1.stage_changed_on) == (
        "o1", "proposal", "2026-01-04")
    assert [(s.sequence, s.from_stage, s.to_stage, s.occurred_on) for s in o1.stage_history] == [
        (1, None, "negotiation", "2026-01-01"), (2, "negotiation", "proposal", "2026-01-04")]
    assert steps(o1.paths) == [
        ["Account:a1", "HAS_OPPORTUNITY", "Opportunity:o1"],
        ["Account:a1", "HAS_OPPORTUNITY", "Opportunity:o1", "ON_OPPORTUNITY", "Event:stage:o1:1"],
        ["Account:a1", "HAS_OPPORTUNITY", "Opportunity:o1", "ON_OPPORTUNITY", "Event:stage:o1:2"]]


def test_risks_roll_signals_up_with_their_evidence_paths(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())
    left = signal("acme", "a1", "contact", "c1", SignalKind.champion_departed, "Ada left", minute=1)
    again = left.model_copy(update={"dedupe_key": "champion_departed:c1:2", "minute": 9})
    drop = signal("acme", "a1", "account", "a1", SignalKind.usage_drop, "Usage fell", minute=5)
    drop = drop.model_copy(update={"severity": Severity.medium})
    intent = signal("acme", "a1", "account", "a1", SignalKind.expansion_intent, "Wants more seats")

    graph.record_signals([left, drop, intent])
    graph.record_signals([again])

    risks = graph.risks("acme", "a1")
    assert [(r.kind, r.severity, r.entity_id) for r in risks] == [
        ("champion_loss", "high", "c1"), ("adoption", "medium", "a1")]
    champion = risks[0]
    assert champion.risk_id == "champion_loss:contact:c1"
    assert champion.signal_ids == sorted([left.signal_id, again.signal_id])
    assert ["Account:a1", "AFFECTS", "Risk:champion_loss:contact:c1", "AFFECTS", "Contact:c1"] in steps(
        champion.paths)
    assert ["Account:a1", "AFFECTS", "Risk:champion_loss:contact:c1", "EVIDENCES",
            f"Signal:{left.signal_id}"] in steps(champion.paths)
    assert steps(risks[1].paths) == [["Account:a1", "AFFECTS", "Risk:adoption:account:a1", "EVIDENCES",
                                      f"Signal:{drop.signal_id}"]]


def test_recent_events_are_newest_first_with_who_and_which_deal(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", base_snapshot())

    events = graph.recent_events("acme", "a1", limit=3)

    assert [(e.event_id, e.event_type, e.occurred_on) for e in events] == [
        ("activity:e2", "email", "2026-01-03"), ("activity:e1", "call", "2026-01-02"),
        ("stage:o2:1", "stage_change", "2026-01-01")]
    call = events[1]
    assert (call.contact_ids, call.opportunity_ids, call.subject) == (["c1"], ["o1"], "Pricing call")
    assert steps(call.paths) == [["Account:a1", "OCCURRED_AT", "Event:activity:e1", "INVOLVES", "Contact:c1"],
                                 ["Account:a1", "OCCURRED_AT", "Event:activity:e1", "ON_OPPORTUNITY",
                                  "Opportunity:o1"]]
    assert events[2].to_stage == "closed_won"
    with pytest.raises(ValueError, match="limit"):
        graph.recent_events("acme", "a1", limit=0)


def test_no_query_returns_another_tenants_data(graph: SituationGraph) -> None:
    canary = "CANARY-globex-91c"
    graph.sync_snapshot("acme", base_snapshot("acme"))
    graph.sync_snapshot("globex", base_snapshot("globex", canary=canary))
    graph.record_signals([signal("globex", "a1", "contact", "c1", SignalKind.champion_departed, canary)])
    graph.record_signals([signal("acme", "a1", "account", "a1", SignalKind.usage_drop, "Usage fell")])

    answers = [graph.neighbourhood("acme", "a1"), graph.buying_committee("acme", "a1"),
               *graph.open_opportunities("acme", "a1"), *graph.risks("acme", "a1"),
               *graph.recent_events("acme", "a1", limit=100), graph.account_context("acme", "a1")]

    dumped = " ".join(a.model_dump_json() for a in answers)
    assert canary not in dumped
    assert canary in graph.buying_committee("globex", "a1").members[0].contact.name
    assert [r.kind for r in graph.risks("acme", "a1")] == ["adoption"]
    with pytest.raises(InvalidTenantError):
        graph.risks("globex|Account|a1", "a1")


def test_queries_on_an_account_with_nothing_around_it(graph: SituationGraph) -> None:
    graph.sync_snapshot("acme", tables([account("acme", "a9", "Lonely")], [], [], [],
                                       [activity("acme", "e9", "a9", date(2026, 1, 5))]))

    assert graph.buying_committee("acme", "a9").members == []
    assert graph.open_opportunities("acme", "a9") == []
    assert graph.risks("acme", "a9") == []
    [event] = graph.recent_events("acme", "a9")
    assert steps(event.paths) == [["Account:a9", "OCCURRED_AT", "Event:activity:e9"]]
