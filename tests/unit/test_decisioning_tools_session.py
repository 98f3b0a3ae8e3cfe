"""Every tool call is policy-checked, tenant-bound and recorded; nothing a model sends makes it raise."""

from __future__ import annotations

from typing import Any

import pytest

from decisioning.contracts import RiskTier
from decisioning.tools import ToolCallStatus, ToolPorts, ToolPrincipal, ToolSession
from decisioning.tools.registry import read_tool_registry
from tests.unit.test_decisioning_tools_fixtures import make_ports, make_session


def test_an_allowed_call_returns_the_result_and_a_record_of_it() -> None:
    session = make_session()

    response = session.call("signals.list_recent", {"account_id": "acc_1"}, call_id="c1")

    assert response.ok and response.result is not None
    assert {s["kind"] for s in response.result["signals"]} == {"usage_drop", "deal_slipped"}
    call = response.call
    assert (call.call_id, call.tenant, call.principal, call.status) == ("c1", "acme", "bedrock-agent", "ok")
    assert call.tier == RiskTier.L0 and call.reasons == ["read-tools-within-clearance"]
    assert call.result_digest and len(call.result_digest) == 64 and call.policy_version
    assert list(session.calls) == [call]


def test_bedrock_wire_names_reach_the_same_tool() -> None:
    response = make_session().call("graph__account_context", {"account_id": "acc_1"})

    assert response.ok and response.result["name"] == "Initech"
    assert response.call.tool == "graph__account_context"


def test_an_unknown_tool_is_a_structured_error_naming_the_tools_there_are() -> None:
    session = make_session()

    response = session.call("crm.update_owner", {"account_id": "acc_1", "owner": "evil@x.example"})

    assert response.error is not None and response.error.code == "unknown_tool"
    assert "signals.list_recent" in response.error.message
    assert response.call.status == ToolCallStatus.unknown_tool and response.call.tier is None
    assert response.content() == {"error": response.error.model_dump()}
    assert list(session.calls) == [response.call]


@pytest.mark.parametrize("arguments", [
    {}, {"account_id": ""}, {"account_id": "acc_1", "tenant": "globex"}, {"account_id": "acc_1", "limit": 0},
    "acc_1", ["acc_1"], {"account_id": 7},
])
def test_invalid_arguments_are_a_structured_error(arguments: Any) -> None:
    response = make_session().call("signals.list_recent", arguments)

    assert response.call.status == ToolCallStatus.invalid_arguments and response.result is None
    assert response.error is not None
    assert "invalid arguments for signals.list_recent" in response.error.message


def test_the_tenant_is_the_sessions_never_the_models() -> None:
    acme = make_session("acme")
    globex = make_session("globex")

    smuggled = acme.call("memory.search", {"query": "x", "tenant": "globex"})
    assert smuggled.call.status == ToolCallStatus.invalid_arguments
    for name, args in [("memory.search", {"query": "usage"}),
                       ("graph.account_context", {"account_id": "acc_1"}),
                       ("signals.list_recent", {"account_id": "acc_1"})]:
        assert "GLOBEX-CANARY" not in str(acme.call(name, args).content())
        assert "GLOBEX-CANARY" in str(globex.call(name, args).content())


def test_a_call_the_policy_denies_is_recorded_and_answered_with_why() -> None:
    session = make_session(principal=ToolPrincipal("mcp-client", max_tier=RiskTier.L0))

    denied = session.call("memory.search", {"query": "usage"})
    allowed = session.call("signals.list_recent", {"account_id": "acc_1"})

    assert denied.call.status == ToolCallStatus.denied and denied.error is not None
    assert denied.error.code == "denied" and "no policy permits it" in denied.error.message
    assert allowed.ok
    assert [c.status for c in session.calls] == [ToolCallStatus.denied, ToolCallStatus.ok]
    offered = [t.name for t in session.allowed_tools()]
    assert offered == ["signals.list_recent", "telemetry.get_health_summary"]


def test_the_agent_kill_switch_denies_every_tool() -> None:
    paused = {"on": False}
    session = make_session(agent_paused=lambda: paused["on"])
    assert session.call("signals.list_recent", {"account_id": "acc_1"}).ok

    paused["on"] = True

    response = session.call("signals.list_recent", {"account_id": "acc_1"})
    assert response.call.status == ToolCallStatus.denied
    assert response.call.reasons == ["no-tools-while-agent-paused"]
    assert session.allowed_tools() == []


def test_a_failing_store_is_an_error_result_not_an_exception() -> None:
    ports, fakes = make_ports()

    def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("graph unreachable")

    fakes[1].account_context = broken
    session = ToolSession(read_tool_registry(ToolPorts.read_only(*fakes)), "acme", ToolPrincipal("agent"))
    response = session.call("graph.account_context", {"account_id": "acc_1"})

    assert response.call.status == ToolCallStatus.error
    assert response.error is not None and "graph unreachable" in response.error.message


def test_an_invalid_tenant_cannot_open_a_session() -> None:
    with pytest.raises(ValueError, match="invalid tenant"):
        make_session("../globex")
