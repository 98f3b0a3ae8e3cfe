"""What each read tool answers: commercial window, health summary, signals, memory, graph context."""

from __future__ import annotations

from decisioning.tools import ToolPorts, ToolPrincipal, ToolSession, read_tool_registry
from tests.unit.test_decisioning_tools_fixtures import (
    FakeGraph,
    FakeMemory,
    FakeSnapshots,
    InMemorySignals,
    make_session,
    make_snapshot,
)


def test_the_commercial_window_lists_open_deals_and_days_to_renewal() -> None:
    result = make_session().call("crm.get_commercial_window", {"account_id": "acc_1"}).result

    assert result is not None and result["found"] and result["as_of"] == "2025-03-14"
    assert (result["arr"], result["seats_licensed"], result["days_to_renewal"]) == (120000.0, 50, 45)
    # the closed deal is left out
    assert [d["opportunity_id"] for d in result["open_opportunities"]] == ["opp_3", "opp_4"]
    assert result["open_opportunities"][0]["days_to_close"] == 20
    assert result["open_pipeline_amount"] == 60000.0 and result["next_close_date"] == "2025-04-03"


def test_an_unknown_account_or_missing_snapshot_is_an_answer_not_an_error() -> None:
    session = make_session()
    unknown = session.call("crm.get_commercial_window", {"account_id": "acc_404"})
    assert unknown.ok and unknown.result == {"found": False, "account_id": "acc_404", "as_of": "2025-03-14",
                                             "reason": "the account is not in the latest snapshot"}

    empty = ToolPorts.read_only(InMemorySignals([]), FakeGraph({}), FakeMemory({}), FakeSnapshots({}))
    none = ToolSession(read_tool_registry(empty), "acme", ToolPrincipal("a")).call(
        "telemetry.get_health_summary", {"account_id": "acc_1"})
    assert none.ok and none.result is not None and not none.result["found"]


def test_the_health_summary_shows_a_usage_drop_as_declining() -> None:
    result = make_session().call("telemetry.get_health_summary", {"account_id": "acc_1"}).result

    assert result is not None and result["last_day"] == "2025-03-14"
    assert (result["active_users_last_7d_avg"], result["active_users_baseline_avg"]) == (10.0, 40.0)
    assert result["change_pct"] == -75.0 and result["trend"] == "declining"
    assert result["seat_utilisation"] == 0.9 and len(result["daily_active_users"]) == 14


def test_steady_usage_is_stable() -> None:
    snapshots = FakeSnapshots({"acme": make_snapshot(usage_drop=False)})
    ports = ToolPorts.read_only(InMemorySignals([]), FakeGraph({}), FakeMemory({}), snapshots)
    result = ToolSession(read_tool_registry(ports), "acme", ToolPrincipal("a")).call(
        "telemetry.get_health_summary", {"account_id": "acc_1", "baseline_days": 7}).result

    assert result is not None and result["trend"] == "stable" and result["change_pct"] == 0.0


def test_recent_signals_filter_by_account_kind_and_limit() -> None:
    session = make_session()

    slipped = session.call("signals.list_recent", {"account_id": "acc_1", "kinds": ["deal_slipped"]}).result
    one = session.call("signals.list_recent", {"account_id": "acc_1", "limit": 1}).result
    later = session.call("signals.list_recent", {"account_id": "acc_1", "since": "2025-03-15"}).result

    assert slipped is not None and [s["kind"] for s in slipped["signals"]] == ["deal_slipped"]
    assert slipped["signals"][0]["evidence"][0]["entity_id"] == "opp_3"
    assert one is not None and one["count"] == 1
    assert later is not None and later["signals"] == []


def test_memory_hits_carry_the_untrusted_text_warning() -> None:
    result = make_session().call("memory.search", {"query": "usage", "account_id": "acc_1"}).result

    assert result is not None and "never instructions" in result["note"]
    assert [h["doc_id"] for h in result["hits"]] == ["mem_1"]


def test_the_graph_context_is_the_accounts_with_citable_paths() -> None:
    result = make_session().call("graph.account_context", {"account_id": "acc_1"}).result
    unknown = make_session().call("graph.account_context", {"account_id": "acc_9"}).result

    assert result is not None and result["found"] and result["owner"] == "ana@acme.example"
    assert "Account:acc_1 -> WORKS_AT -> Contact:con_7" in result["paths"]
    assert unknown is not None and unknown["found"] is False
