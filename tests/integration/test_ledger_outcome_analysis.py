"""Outcome analysis end to end on the real stores: proposals through policy, review and execution
(OperationalStore, ProposalReviewService, ActionExecutor), signals, outcomes linked to the work before
them, an incremental export to Iceberg, and every saved query checked against counts computed here
from the operational store itself."""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from actions.contracts import ReviewVerdict
from actions.outcomes import Outcome, OutcomeKind, OutcomeStore, link_to_prior_work, outcome_id
from decisioning.contracts import ActionType, PolicyOutcome
from ledger.analysis import list_queries, run_query
from ledger.iceberg import IcebergWarehouse
from ledger.sql import sqlite_url
from perception.contracts import Evidence, Severity, Signal, SignalKind
from perception.signal_store import SignalStore
from pipelines.export import export_to_warehouse
from tests.integration.test_actions_support import T0, Loop, make_proposal, policy

TENANTS = ("acme", "globex")
ACCOUNTS = 6


class DemoRun:
    def __init__(self, tmp_path: Path) -> None:
        self.loop = Loop(tmp_path)
        url = sqlite_url(tmp_path / "state.sqlite")
        self.signals = SignalStore(url)
        self.outcomes = OutcomeStore(url)
        self.warehouse = IcebergWarehouse(tmp_path / "catalog.db", tmp_path / "warehouse")

    def export(self) -> dict[str, int]:
        return export_to_warehouse(self.warehouse, self.signals, self.loop.store, self.loop.ledger,
                                   self.outcomes)


def signal(tenant: str, i: int, kind: SignalKind, at: datetime) -> Signal:
    return Signal(tenant=tenant, account_id=f"{tenant}-acc-{i % ACCOUNTS}", entity_type="account",
                  entity_id=f"{tenant}-acc-{i % ACCOUNTS}", kind=kind,
                  severity=[Severity.low, Severity.medium, Severity.high][i % 3],
                  evidence=[Evidence(object="accounts", entity_id=f"{tenant}-acc-{i % ACCOUNTS}", field="arr",
                                     before=100, after=90)],
                  observed_at=at, source="demo", dedupe_key=f"{kind}:{i}", narrative=f"signal {i}")


def run_the_loop(run: DemoRun) -> None:
    loop = run.loop
    kinds = [SignalKind.usage_drop, SignalKind.deal_slipped, SignalKind.champion_departed]
    for t, tenant in enumerate(TENANTS):
        run.signals.add_new([signal(tenant, i, kinds[(i + t) % 3], T0 + timedelta(hours=5 * i))
                             for i in range(9 + 3 * t)])
        for i in range(10 + 2 * t):
            loop.clock.now = T0 + timedelta(hours=i)
            action = [ActionType.crm_create_task, ActionType.notify_owner][i % 2]
            arguments = None if action is ActionType.crm_create_task else {"message": f"look at {i}"}
            proposal = make_proposal(f"{tenant}-p{i}", tenant, action, arguments,
                                     account_id=f"{tenant}-acc-{i % ACCOUNTS}", created_at=loop.clock())
            loop.store.add_proposals([proposal], now=loop.clock())
            outcome = [PolicyOutcome.forbidden, PolicyOutcome.automatic, PolicyOutcome.needs_approval,
                       PolicyOutcome.needs_approval][i % 4]
            decided = policy(proposal, outcome, errors=["engine timed out"] if i == 4 else None,
                             at=loop.clock())
            if outcome is PolicyOutcome.forbidden and i != 4:
                decided = decided.model_copy(update={"reasons": [f"deny-{i % 3}"] + ["deny-all"] * (i >= 8)})
            loop.store.record_policy(decided)
            if outcome is PolicyOutcome.needs_approval:
                loop.clock.advance(timedelta(hours=1 + i))
                verdict = ReviewVerdict.approve if i % 3 else ReviewVerdict.reject
                loop.review.decide(tenant, proposal.proposal_id, verdict, "rita", "checked",
                                   proposal.arguments_digest)
        loop.clock.now = T0 + timedelta(days=1)
        loop.executor.execute_ready(tenant)
        loop.clock.now = T0 + timedelta(days=3)
        found = [Outcome(tenant=tenant, outcome_id=outcome_id(tenant, kind, f"{tenant}-acc-{k}", T0.date()),
                         account_id=f"{tenant}-acc-{k}", entity_id=f"{tenant}-acc-{k}", kind=kind,
                         source="crm", observed_at=T0 + timedelta(days=2 + k % 2))
                 for k in range(ACCOUNTS)
                 for kind in [[OutcomeKind.deal_won], [OutcomeKind.deal_lost],
                              [OutcomeKind.renewed, OutcomeKind.churned]][k % 3][: 1 + k % 2]]
        linked = link_to_prior_work(found, loop.store.proposal_rows(), loop.store.action_rows())
        assert run.outcomes.record(linked, loop.ledger) == linked


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    run = DemoRun(tmp_path_factory.mktemp("outcomes"))
    run_the_loop(run)
    run.export()
    return run


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def executed_before(demo: DemoRun) -> dict[tuple[str, str], list[datetime]]:
    """(tenant, account) -> when each succeeded action on it finished, from the store's own tables."""
    account_of = {(r["tenant"], r["proposal_id"]): r["account_id"] for r in demo.loop.store.rows("proposals")}
    out: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for r in demo.loop.store.rows("action_results"):
        if r["state"] == "succeeded":
            out[(r["tenant"], account_of[(r["tenant"], r["proposal_id"])])].append(ts(r["completed_at"]))
    return out


def rows(demo: DemoRun, name: str, **params: Any) -> list[dict[str, Any]]:
    return run_query(demo.warehouse, name, params).to_pylist()


def test_approval_rate_and_time_to_decision_match_the_store(demo: DemoRun) -> None:
    store = demo.loop.store
    proposals = store.rows("proposals")
    action_of = {(p["tenant"], p["proposal_id"]): p["action_type"] for p in proposals}
    created = {(p["tenant"], p["proposal_id"]): ts(p["created_at"]) for p in proposals}
    final: dict[tuple[str, str], dict[str, Any]] = {}
    for r in sorted(store.rows("review_decisions"), key=lambda r: r["decided_at"]):
        final[(r["tenant"], r["proposal_id"])] = r
    expected: dict[tuple[str, str], list[Any]] = {}
    for key, r in final.items():
        group = expected.setdefault((key[0], action_of[key]), [0, 0, []])
        group[0 if r["verdict"] == "approve" else 1] += 1
        group[2].append((ts(r["decided_at"]) - created[key]).total_seconds() / 3600)
    got = rows(demo, "approval_rate_by_action_type")
    assert {(r["tenant"], r["action_type"]): (r["approved"], r["rejected"]) for r in got} == {
        k: (v[0], v[1]) for k, v in expected.items()}
    for r in got:
        approved, rejected, hours = expected[(r["tenant"], r["action_type"])]
        assert r["approval_rate"] == pytest.approx(approved / (approved + rejected))
        assert r["median_hours_to_decision"] == pytest.approx(statistics.median(hours))
    assert all(r["tenant"] == "globex" for r in rows(demo, "approval_rate_by_action_type", tenant="globex"))


def test_loop_counts_match_the_store_and_the_ledger(demo: DemoRun) -> None:
    store, ledger = demo.loop.store, demo.loop.ledger
    got = {(r["tenant"], r["metric"]): r["value"] for r in rows(demo, "loop_counts")}
    for tenant in TENANTS:
        assert got[(tenant, "signals")] == len(demo.signals.list(tenant))
        latest: dict[str, dict[str, Any]] = {}
        for p in sorted(store.rows("proposals", tenant), key=lambda p: p["version"]):
            latest[p["proposal_id"]] = p
        assert got[(tenant, "proposals")] == len(latest)
        for status, n in Counter(p["status"] for p in latest.values()).items():
            assert got[(tenant, f"proposals.{status}")] == n
        states = Counter(r["state"] for r in store.rows("action_results", tenant))
        assert got[(tenant, "actions_executed")] == states["succeeded"] > 0
        assert got[(tenant, "ledger_entries")] == len(ledger.entries(tenant))


def test_policy_denials_by_reason_match_the_recorded_policy_decisions(demo: DemoRun) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for r in demo.loop.store.rows("policy_decisions"):
        body = json.loads(r["body"])
        if r["outcome"] == "forbidden":
            for reason in ["evaluation_error"] if body["errors"] else body["reasons"]:
                expected[(r["tenant"], reason)] += 1
    got = {(r["tenant"], r["reason"]): r["denials"] for r in rows(demo, "policy_denials_by_reason")}
    assert got == dict(expected) and ("acme", "evaluation_error") in got and ("acme", "deny-all") in got


def test_signal_to_outcome_conversion_matches_a_join_done_here(demo: DemoRun) -> None:
    outcomes = demo.outcomes.rows()
    expected: dict[tuple[str, str], list[int]] = {}
    for s in demo.signals.list():
        after = [o for o in outcomes if o["tenant"] == s.tenant and o["account_id"] == s.account_id
                 and s.observed_at <= o["observed_at"] < s.observed_at + timedelta(days=30)]
        good = [o for o in after if o["kind"] in ("deal_won", "close_date_held", "renewed")]
        counts = expected.setdefault((s.tenant, str(s.kind)), [0, 0, 0, 0])
        for i, hit in enumerate((True, bool(after), bool(good), bool(after) and len(good) < len(after))):
            counts[i] += hit
    got = {(r["tenant"], r["kind"]): [r["signals"], r["followed_by_outcome"], r["followed_by_good"],
                                      r["followed_by_bad"]] for r in rows(demo, "signal_to_outcome")}
    assert got == expected and any(v[1] for v in got.values())


def test_win_and_churn_rates_split_by_executed_actions_computed_from_the_store(demo: DemoRun) -> None:
    done = executed_before(demo)
    expected: dict[tuple[str, bool], Counter[str]] = defaultdict(Counter)
    for o in demo.outcomes.rows():
        acted = any(t < o["observed_at"] for t in done.get((o["tenant"], o["account_id"]), []))
        expected[(o["tenant"], acted)][o["kind"]] += 1
    got = rows(demo, "win_churn_by_action")
    assert {(r["tenant"], r["with_actions"]) for r in got} == set(expected)
    assert {True, False} <= {acted for _, acted in expected}
    for r in got:
        kinds = expected[(r["tenant"], r["with_actions"])]
        assert (r["deals_won"], r["deals_lost"], r["renewed"], r["churned"]) == (
            kinds["deal_won"], kinds["deal_lost"], kinds["renewed"], kinds["churned"])
        decided = kinds["deal_won"] + kinds["deal_lost"]
        assert r["win_rate"] == (pytest.approx(kinds["deal_won"] / decided) if decided else None)


def test_signals_by_kind_match_the_signal_store(demo: DemoRun) -> None:
    expected = Counter((s.tenant, str(s.kind)) for s in demo.signals.list())
    got = {(r["tenant"], r["kind"]): r["signals"] for r in rows(demo, "signals_by_kind")}
    assert got == dict(expected)


def test_every_saved_query_is_covered_here() -> None:
    covered = {"approval_rate_by_action_type", "loop_counts", "policy_denials_by_reason", "signal_to_outcome",
               "win_churn_by_action", "signals_by_kind"}
    assert {q.name for q in list_queries()} == covered
