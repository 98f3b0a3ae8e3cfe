"""One trace id, end to end: the sender's traceparent -> the HTTP answer -> the inbox event -> the signal
-> the proposal -> the ledger entries they caused, through the real embedded engines (the embedding
model is replaced by a hashed bag of words so the test stays fast)."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from fastapi.testclient import TestClient

from actions.stage import classify_pending_proposals
from actions.store import OperationalStore
from connectors.demo.connector import DemoConnector
from connectors.object_store import LocalObjectStore
from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.verify import signed_headers
from decisioning.playbook import PlaybookAgent
from decisioning.policy import CedarPolicyEngine
from decisioning.stage import propose_for_new_signals
from ledger.store import Ledger
from perception.schemas import OPEN_STAGES
from perception.signal_store import SignalStore
from perception.snapshot_store import NormalizedSnapshotStore
from perception.stage import normalize_new_snapshots, pull_new_snapshots
from perception.webhook_stage import sense_inbox_events
from revloop.app import create_app
from revloop.settings import load_settings
from revloop.wiring import ensure_demo_world, ensure_webhook_secrets, state_url
from tests.integration.test_world_model_memory_contract import FakeEmbedder
from world_model.graph import open_gremlite_graph
from world_model.memory import LanceDbMemory
from world_model.stage import remember_new_signals, update_situation_graph

TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE}-b7ad6b7169203331-01"


def test_the_senders_trace_id_reaches_signal_proposal_and_ledger(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", demo_tenants="acme", demo_accounts_per_tenant=6,
                             demo_seed=5)
    ensure_demo_world(settings)
    url, lake = state_url(settings), settings.paths.lake
    ledger, signals, normalized = Ledger(url), SignalStore(url), NormalizedSnapshotStore(lake)
    pull_new_snapshots(DemoConnector(settings.paths.demo_world), LocalObjectStore(lake), ledger, "acme")
    normalize_new_snapshots(LocalObjectStore(lake), normalized, ledger, "acme", source="demo")
    snapshot = normalized.latest("acme")
    assert snapshot is not None
    deal = snapshot.table("opportunities").filter(pl.col("stage").is_in(list(OPEN_STAGES))
                                                  & pl.col("close_date").is_not_null()).row(0, named=True)
    close: date = deal["close_date"]
    slip = {"before": close.isoformat(), "after": (close + timedelta(days=90)).isoformat()}
    body = json.dumps({"type": "crm.record.changed", "object": "opportunities",
                       "record_id": deal["opportunity_id"], "account_id": deal["account_id"],
                       "changes": {"close_date": slip}}).encode()
    secret = ensure_webhook_secrets(settings).secrets_for("acme", "demo")[0]
    with TestClient(create_app(settings)) as client:
        answer = client.post("/webhooks/demo?tenant=acme", content=body, headers={
            "content-type": "application/json", "traceparent": TRACEPARENT,
            **signed_headers(secret, "msg_trace", int(time.time()), body)})
    assert answer.status_code == 202 and answer.json()["trace_id"] == TRACE
    assert [e.trace_id for e in WebhookInbox(url).pending()] == [TRACE]

    sensed = sense_inbox_events(WebhookInbox(url), normalized, signals, ledger, "acme")
    assert [s.trace_id for s in sensed.signals] == [TRACE]
    graph = open_gremlite_graph(settings.paths.graph_db)
    try:
        update_situation_graph(graph, normalized, signals, ledger, "acme")
        memory = LanceDbMemory(settings.paths.vectors, FakeEmbedder())
        remember_new_signals(memory, signals, ledger, "acme")
        outcome = propose_for_new_signals(PlaybookAgent(), graph, memory, signals, ledger, "acme")
    finally:
        graph.close()
    store = OperationalStore(url)
    store.add_proposals(outcome.proposals)
    classify_pending_proposals(store, CedarPolicyEngine(), ledger)

    assert outcome.proposals and {p.trace_id for p in outcome.proposals} == {TRACE}
    stored = store.list("acme")
    assert stored and {s.proposal.trace_id for s in stored} == {TRACE}
    for kind in ("webhook.processed", "signal.raised", "proposal.created"):
        entries = ledger.entries("acme", kind)
        assert entries and {e.payload["trace_id"] for e in entries} == {TRACE}, kind
    proposal_ids = {p.proposal_id for p in outcome.proposals}
    decided = [e for e in ledger.entries("acme", "policy.decided")
               if e.payload["proposal_id"] in proposal_ids]
    assert len(decided) == len(proposal_ids), "each proposal's policy decision is in the ledger"
    assert {e.payload["trace_id"] for e in decided} == {TRACE}
    ledger.verify()
