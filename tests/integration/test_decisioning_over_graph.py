"""The playbook agent and Cedar over a real situation graph (gremlite): context in, classified proposals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from decisioning.contracts import Abstention, ActionType, PolicyOutcome, Proposal
from decisioning.playbook import PlaybookAgent
from decisioning.policy import CedarPolicyEngine
from perception.contracts import Evidence, Severity, Signal, SignalKind
from world_model.contracts import MemoryHit
from world_model.graph import SituationGraph, open_gremlite_graph

TENANT = "acme"


def snapshot() -> dict[str, pl.DataFrame]:
    accounts = pl.DataFrame([{
        "tenant": TENANT, "account_id": "a1", "name": "Initech", "domain": "initech.example",
        "industry": "software", "owner": "rep@vendor.example", "arr": 120_000.0, "seats_licensed": 50,
        "renewal_date": date(2026, 3, 31)}])
    contacts = pl.DataFrame([
        {"tenant": TENANT, "contact_id": cid, "account_id": "a1", "name": name,
         "email": f"{cid}@initech.example", "title": "VP Operations", "role": role, "status": "active"}
        for cid, name, role in [("c1", "Ada Park", "champion"), ("c2", "Ben Ode", "economic_buyer")]])
    opportunities = pl.DataFrame([
        {"tenant": TENANT, "opportunity_id": "o1", "account_id": "a1", "name": "Renewal 2026",
         "stage": "negotiation", "amount": 50_000.0, "close_date": date(2026, 2, 15),
         "owner": "rep@vendor.example"}])
    usage = pl.DataFrame([{"tenant": TENANT, "account_id": "a1", "product": "analytics",
                           "day": date(2026, 1, 2), "active_users": 30, "seats_used": 32}])
    return {"accounts": accounts, "contacts": contacts, "opportunities": opportunities, "usage": usage}


def signal(kind: SignalKind, entity_type: str, entity_id: str, account_id: str = "a1") -> Signal:
    return Signal(
        tenant=TENANT, account_id=account_id, entity_type=entity_type, entity_id=entity_id, kind=kind,
        severity=Severity.high,
        evidence=[Evidence(object=f"{entity_type}s", entity_id=entity_id, field="x", before=1, after=0)],
        observed_at=datetime(2026, 1, 3, 9, tzinfo=UTC), source="demo",
        dedupe_key=f"{kind.value}:{entity_id}", narrative=f"{kind.value} on {entity_id}.",
    )


@pytest.fixture
def graph(tmp_path: Path) -> Iterator[SituationGraph]:
    graph = open_gremlite_graph(tmp_path / "graph.sqlite")
    graph.sync_snapshot(TENANT, snapshot())
    yield graph
    graph.close()


def test_signals_on_a_graph_account_become_classified_proposals(graph: SituationGraph) -> None:
    signals = [signal(SignalKind.champion_departed, "contact", "c1"),
               signal(SignalKind.stage_regression, "opportunity", "o1")]
    graph.record_signals(signals)
    context = graph.account_context(TENANT, "a1")
    hits = [MemoryHit(doc_id="mem_9", source="note", account_id="a1", snippet="Ada mentioned a reorg.",
                      score=0.7)]

    results = PlaybookAgent().decide(signals, context, hits)
    engine = CedarPolicyEngine()
    classified = {r.action_type: engine.classify(r).outcome for r in results if isinstance(r, Proposal)}

    assert not [r for r in results if isinstance(r, Abstention)]
    assert classified == {ActionType.crm_create_task: PolicyOutcome.needs_approval,
                          ActionType.notify_owner: PolicyOutcome.automatic,
                          ActionType.crm_update_field: PolicyOutcome.needs_approval}
    update = next(r for r in results
                  if isinstance(r, Proposal) and r.action_type == ActionType.crm_update_field)
    paths = [c.ref for c in update.evidence if c.kind == "graph_path"]
    assert any("Opportunity:o1" in p for p in paths)
    assert any(f"Signal:{signals[1].signal_id}" in p for p in paths)  # the RAISED path of the signal itself


def test_a_signal_before_its_account_reaches_the_graph_is_abstained_on(graph: SituationGraph) -> None:
    early = signal(SignalKind.deal_slipped, "opportunity", "o77", account_id="a9")
    results = PlaybookAgent().decide([early], graph.account_context(TENANT, "a9"), [])

    assert len(results) == 1 and isinstance(results[0], Abstention)
    assert results[0].signal_ids == [early.signal_id]
