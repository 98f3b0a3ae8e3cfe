"""The tool plane over MCP, through the mcp client in-process: list, call, denied, unknown, invalid."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from decisioning.contracts import RiskTier
from decisioning.tools import ToolCall, ToolCallStatus, ToolPrincipal
from decisioning.tools.mcp_server import build_mcp_server
from tests.unit.test_decisioning_tools_fixtures import make_session


def run(principal: ToolPrincipal, body: Callable[[Client], Awaitable[Any]]) -> tuple[Any, list[ToolCall]]:
    session = make_session("acme", principal)
    recorded: list[ToolCall] = []
    server = build_mcp_server(session, on_call=recorded.append)

    async def main() -> Any:
        async with Client(server) as client:
            return await body(client)

    return anyio.run(main), recorded


@pytest.mark.parametrize("mode", ["auto", "legacy"])
def test_a_client_lists_the_read_tools_and_calls_one(mode: str) -> None:
    async def body(client: Client) -> Any:
        listed = await client.list_tools()
        called = await client.call_tool("crm.get_commercial_window", {"account_id": "acc_1"})
        return listed, called

    async def main() -> Any:
        server = build_mcp_server(make_session())
        async with Client(server, mode=mode) as client:
            return await body(client)

    listed, called = anyio.run(main)

    assert sorted(t.name for t in listed.tools) == [
        "crm.get_commercial_window", "graph.account_context", "memory.search", "signals.list_recent",
        "telemetry.get_health_summary"]
    for tool in listed.tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.input_schema["additionalProperties"] is False
    assert not called.is_error
    assert called.structured_content["days_to_renewal"] == 45
    assert json.loads(called.content[0].text)["open_pipeline_amount"] == 60000.0


def test_a_denied_call_is_a_tool_error_the_model_can_read_and_is_recorded() -> None:
    async def body(client: Client) -> Any:
        listed = await client.list_tools()
        denied = await client.call_tool("memory.search", {"query": "usage"})
        return listed, denied

    (listed, denied), recorded = run(ToolPrincipal("mcp-client", max_tier=RiskTier.L0), body)

    assert "memory.search" not in {t.name for t in listed.tools}
    assert denied.is_error and denied.structured_content["error"]["code"] == "denied"
    assert [c.status for c in recorded] == [ToolCallStatus.denied]
    assert recorded[0].tenant == "acme" and recorded[0].principal == "mcp-client"


def test_an_unknown_tool_is_an_invalid_params_error_and_is_recorded() -> None:
    async def body(client: Client) -> Any:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("crm.update_field", {"record_id": "opp_3", "field": "stage"})
        return raised.value

    error, recorded = run(ToolPrincipal("mcp-client"), body)

    assert error.code == -32602 and "no tool named 'crm.update_field'" in error.message
    assert [c.status for c in recorded] == [ToolCallStatus.unknown_tool]


def test_invalid_arguments_and_a_smuggled_tenant_are_tool_errors() -> None:
    async def body(client: Client) -> Any:
        return [await client.call_tool("signals.list_recent", {"account_id": "acc_1", "tenant": "globex"}),
                await client.call_tool("signals.list_recent", {"limit": 5})]

    results, recorded = run(ToolPrincipal("mcp-client"), body)

    assert all(r.is_error and r.structured_content["error"]["code"] == "invalid_arguments" for r in results)
    assert [c.status for c in recorded] == [ToolCallStatus.invalid_arguments] * 2
