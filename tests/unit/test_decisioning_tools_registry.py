"""The registry offers read tools only, each with a JSON schema the model (and MCP clients) can fill."""

from __future__ import annotations

import re

import pytest

from decisioning.contracts import RiskTier
from decisioning.tools import ToolInput, ToolRegistry, ToolRegistryError, ToolSpec, read_tool_registry
from decisioning.tools.contracts import READ_TIERS
from tests.unit.test_decisioning_tools_fixtures import make_ports

BEDROCK_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
VALID_ARGS = {
    "signals.list_recent": {"account_id": "acc_1"},
    "crm.get_commercial_window": {"account_id": "acc_1"},
    "telemetry.get_health_summary": {"account_id": "acc_1"},
    "memory.search": {"query": "usage", "account_id": "acc_1"},
    "graph.account_context": {"account_id": "acc_1"},
}
WRITES = {"add_new", "record_signals", "upsert", "write", "mark_processed", "sync_snapshot"}


def test_the_five_read_tools_are_registered_with_schemas_bedrock_accepts() -> None:
    registry = read_tool_registry(make_ports()[0])

    assert registry.names == sorted(VALID_ARGS)
    for tool in registry:
        schema = tool.input_schema()
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert "tenant" not in schema["properties"], f"{tool.name} lets the model name a tenant"
        assert BEDROCK_TOOL_NAME.match(tool.wire_name)
        assert registry.get(tool.wire_name) is tool and registry.get(tool.name) is tool


def test_no_registered_tool_has_a_write_tier_or_a_handler_that_writes() -> None:
    ports, fakes = make_ports()
    registry = read_tool_registry(ports)

    assert {tool.tier for tool in registry} <= READ_TIERS
    for tool in registry:
        tool.handler("acme", tool.input_model.model_validate(VALID_ARGS[tool.name]))
    touched = {name for fake in fakes for name in fake.touched}
    assert touched == {"list", "account_context", "search", "latest"} and not touched & WRITES
    for view in (ports.signals, ports.graph, ports.memory, ports.snapshots):
        assert not any(hasattr(view, write) for write in WRITES), f"{type(view).__name__} exposes a write"


@pytest.mark.parametrize("tier", [RiskTier.L2, RiskTier.L3])
def test_a_tool_with_a_write_tier_cannot_be_registered(tier: RiskTier) -> None:
    writer = ToolSpec(name="crm.update_owner", description="x", input_model=ToolInput, tier=tier,
                      handler=lambda tenant, args: {}, reads="crm")

    with pytest.raises(ToolRegistryError, match="only read tools"):
        ToolRegistry([writer])


def test_duplicate_and_badly_named_tools_are_refused() -> None:
    tool = ToolSpec(name="x.read", description="x", input_model=ToolInput, tier=RiskTier.L0,
                    handler=lambda tenant, args: {}, reads="crm")
    with pytest.raises(ToolRegistryError, match="twice"):
        ToolRegistry([tool, tool])
    with pytest.raises(ToolRegistryError, match="dotted lower-case"):
        ToolRegistry([ToolSpec(name="Read It", description="x", input_model=ToolInput, tier=RiskTier.L0,
                               handler=lambda tenant, args: {}, reads="crm")])
