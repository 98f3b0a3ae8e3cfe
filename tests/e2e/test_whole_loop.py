"""The whole loop, in-process, on a tiny demo world with the real embedded engines:
injected events -> signals -> graph + memory -> proposals -> Cedar -> review via the API ->
the executor acts exactly once -> the ledger verifies (and catches a hand edit) -> DuckDB over
Iceberg reports counts that match the operational store."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter

import dagster as dg
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from actions.store import OperationalStore
from connectors.demo.crm import DemoCrm
from connectors.demo.world import DemoWorld
from ledger.analysis import run_query
from ledger.iceberg import IcebergWarehouse
from ledger.sql import sqlite_url
from ledger.store import Ledger
from ledger.verify import LedgerVerificationError
from perception.scoring import score_signals
from perception.signal_store import SignalStore
from pipelines.jobs import EXECUTE_JOB
from pipelines.runner import run_loop_in_process
from revloop.app import create_app
from revloop.cli import app as cli
from revloop.settings import Settings, load_settings

pytestmark = pytest.mark.slow
TENANTS = ["acme", "globex"]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings(data_dir=tmp_path_factory.mktemp("revloop") / "data",
                             demo_tenants=",".join(TENANTS), demo_accounts_per_tenant=12,
                             demo_event_rate=0.15, demo_seed=11)
    settings.paths.ensure()
    return settings


@pytest.fixture(scope="module")
def instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.ephemeral()


@pytest.fixture(scope="module")
def first_loop(settings: Settings, instance: dg.DagsterInstance) -> dict:
    return run_loop_in_process(settings, days=3, instance=instance)


def url(settings: Settings) -> str:
    return sqlite_url(settings.paths.state_db)


def test_the_loop_runs_green_and_raises_the_injected_events_as_signals(
        settings: Settings, first_loop: dict) -> None:
    assert all(run["success"] for run in first_loop.values())
    assert len(first_loop["revloop_loop"]["runs"]) == len(TENANTS) * 4  # day 0 and 3 new days each
    truth = DemoWorld.open(settings.paths.demo_world).ground_truth()
    signals = SignalStore(url(settings)).list()
    assert truth, "the demo world injected no events; the test world is too small"
    scores = score_signals(signals, truth)
    for kind in {event.kind for event in truth}:
        assert scores[kind].recall == 1.0, (kind, scores[kind])
        assert scores[kind].precision == 1.0, (kind, scores[kind])
    raised = sum(run["assets"]["signals"]["new_signals"] for run in first_loop["revloop_loop"]["runs"])
    assert raised == len(signals)


def test_each_tenant_has_pending_proposals_with_evidence(settings: Settings, first_loop: dict) -> None:
    store = OperationalStore(url(settings))
    for tenant in TENANTS:
        pending = store.list(tenant, status="needs_approval")
        assert pending, f"no proposal awaits review for {tenant}"
        for stored in pending:
            assert stored.proposal.tenant == tenant
            assert any(c.kind == "signal" for c in stored.proposal.evidence)
            assert stored.policy is not None and stored.policy.outcome == "needs_approval"


def test_an_approved_action_executes_exactly_once(settings: Settings, first_loop: dict,
                                                  instance: dg.DagsterInstance) -> None:
    from pipelines.definitions import build_definitions

    store = OperationalStore(url(settings))
    crm = DemoCrm(settings.paths.demo_world)
    tenant = TENANTS[0]
    target = next(s for s in store.list(tenant, status="needs_approval")
                  if s.proposal.action_type == "crm.create_task")
    mutations_before = crm.mutation_count(tenant)

    client = TestClient(create_app(settings))
    client.post("/login", data={"username": "demo-reviewer"}, follow_redirects=False)
    token = client.get("/api/token").json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    page = client.get(f"/review/{target.proposal.proposal_id}")
    assert page.status_code == 200 and target.proposal.rationale.split(".")[0] in page.text

    body = {"verdict": "approve", "rationale": "customer is at risk; task is warranted",
            "arguments_digest": target.proposal.arguments_digest}
    first = client.post(f"/api/proposals/{target.proposal.proposal_id}/decisions", json=body,
                        headers=auth)
    assert first.status_code == 201, first.text
    again = client.post(f"/api/proposals/{target.proposal.proposal_id}/decisions", json=body,
                        headers=auth)
    assert again.status_code == 409

    job = build_definitions(settings).resolve_job_def(EXECUTE_JOB)
    assert job.execute_in_process(instance=instance).success
    assert job.execute_in_process(instance=instance).success  # a second run acts on nothing
    assert crm.mutation_count(tenant) == mutations_before + 1
    executed = store.get(target.proposal.proposal_id)
    assert executed is not None and executed.status == "executed"
    assert executed.result is not None and executed.result.external_ids
    kinds = Counter(e.kind for e in Ledger(url(settings)).entries(tenant))
    assert kinds["review.decided"] == 1
    assert kinds["action.completed"] >= 1
    trail = {e.kind: e.payload.get("trace_id") for e in Ledger(url(settings)).entries(tenant)
             if e.payload.get("proposal_id") == target.proposal.proposal_id}
    caused = ("proposal.created", "policy.decided", "review.decided", "action.attempted", "action.completed")
    assert {kind: trail.get(kind) for kind in caused} == dict.fromkeys(caused, target.proposal.trace_id), \
        "the proposal's trace id follows it through policy, review and execution"


def test_duckdb_over_iceberg_matches_the_operational_store(settings: Settings,
                                                           first_loop: dict) -> None:
    warehouse = IcebergWarehouse(settings.paths.iceberg_catalog, settings.paths.iceberg_warehouse)
    rows = run_query(warehouse, "loop_counts").to_pylist()
    reported = {(r["tenant"], r["metric"]): r["value"] for r in rows}
    store = OperationalStore(url(settings))
    signals = SignalStore(url(settings))
    ledger = Ledger(url(settings))
    for tenant in TENANTS:
        assert reported[(tenant, "signals")] == sum(signals.counts_by_kind(tenant).values())
        assert reported[(tenant, "proposals")] == sum(store.status_counts(tenant).values())
        # The export runs before the ledger entries of the export run itself are appended.
        assert 0 < reported[(tenant, "ledger_entries")] <= len(ledger.entries(tenant))


def test_a_signed_webhook_becomes_a_signal_and_a_proposal(settings: Settings, first_loop: dict,
                                                          instance: dg.DagsterInstance) -> None:
    import json

    from connectors.webhooks.verify import signed_headers
    from perception.snapshot_store import NormalizedSnapshotStore
    from pipelines.definitions import build_definitions
    from pipelines.jobs import WEBHOOK_JOB
    from pipelines.resources import OperationalDbResource
    from pipelines.sensors import webhook_inbox_sensor
    from revloop.wiring import ensure_webhook_secrets

    tenant = TENANTS[1]
    opportunities = NormalizedSnapshotStore(settings.paths.lake).latest(tenant).table("opportunities")
    opp = opportunities.filter(opportunities["stage"].is_in(["proposal", "negotiation"])).row(0, named=True)
    body = json.dumps({"type": "crm.record.changed", "object": "opportunities",
                       "record_id": opp["opportunity_id"], "account_id": opp["account_id"],
                       "changes": {"stage": {"before": opp["stage"], "after": "qualification"}}}).encode()
    secret = ensure_webhook_secrets(settings).secrets_for(tenant, "demo")[-1]
    client = TestClient(create_app(settings))
    response = client.post("/webhooks/demo", params={"tenant": tenant}, content=body,
                           headers={"content-type": "application/json",
                                    **signed_headers(secret, "msg_e2e_1", int(time.time()),
                                                     body)})
    assert response.status_code == 202, response.text

    db = OperationalDbResource(url=url(settings))
    tick = webhook_inbox_sensor(dg.build_sensor_context(cursor="0", resources={"db": db}))
    newest = db.inbox().max_id()
    assert [r.run_key for r in tick.run_requests] == [f"inbox:{tenant}:{newest}-{newest}"]
    quiet = webhook_inbox_sensor(dg.build_sensor_context(cursor=tick.cursor, resources={"db": db}))
    assert isinstance(quiet, dg.SkipReason)

    job = build_definitions(settings).resolve_job_def(WEBHOOK_JOB)
    assert job.execute_in_process(instance=instance, tags=tick.run_requests[0].tags).success
    regressions = [s for s in SignalStore(url(settings)).list(tenant)
                   if s.kind == "stage_regression" and s.entity_id == opp["opportunity_id"]]
    assert len(regressions) == 1
    proposals = OperationalStore(url(settings)).list(tenant, account_id=opp["account_id"], status=None)
    assert any(regressions[0].signal_id in {c.ref for c in p.proposal.evidence} for p in proposals)
    assert db.inbox().counts()["processed"] >= 1


# Runs last: it breaks the globex chain on purpose.
def test_the_ledger_verifies_and_a_hand_edit_is_named(settings: Settings, first_loop: dict) -> None:
    runner = CliRunner()
    env = {"REVLOOP_DATA_DIR": str(settings.data_dir), "REVLOOP_DEMO_TENANTS": ",".join(TENANTS)}
    ok = runner.invoke(cli, ["ledger", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert "ledger OK" in ok.output

    db = sqlite3.connect(settings.paths.state_db)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE tenant = 'globex' AND seq = 2")
    db.execute("DROP TRIGGER ledger_entries_no_update")
    db.execute("UPDATE ledger_entries SET actor = 'mallory' WHERE tenant = 'globex' AND seq = 2")
    db.commit()
    db.close()
    bad = runner.invoke(cli, ["ledger", "verify"], env=env)
    assert bad.exit_code == 1
    assert "tenant=globex seq=2" in bad.output
    with pytest.raises(LedgerVerificationError) as caught:
        Ledger(url(settings)).verify("globex")
    assert caught.value.seq == 2
