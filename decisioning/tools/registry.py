"""The registry of read tools the decision agent (and MCP clients) may be offered."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from decisioning.tools.context_tools import context_tools
from decisioning.tools.contracts import READ_TIERS, TOOL_NAME_PATTERN, ToolSpec
from decisioning.tools.ports import ToolPorts
from decisioning.tools.snapshot_tools import snapshot_tools


class ToolRegistryError(ValueError):
    """A tool cannot be registered; the message says which and why."""


class ToolRegistry:
    """Tools by name (``signals.list_recent``) and by Bedrock wire name (``signals__list_recent``).

    Only read tiers (L0, L1) are accepted: the agent never holds a tool that writes."""

    def __init__(self, tools: Iterable[ToolSpec] = ()) -> None:
        self._tools: dict[str, ToolSpec] = {}
        self._by_wire: dict[str, ToolSpec] = {}
        for tool in tools:
            self.register(tool)

    def register(self, tool: ToolSpec) -> None:
        if not TOOL_NAME_PATTERN.match(tool.name):
            raise ToolRegistryError(f"tool name {tool.name!r} must be dotted lower-case, e.g. 'crm.get_x'")
        if tool.tier not in READ_TIERS:
            raise ToolRegistryError(
                f"tool {tool.name} is tier {tool.tier.value}: only read tools (L0, L1) may be registered; "
                "writes go through proposals, policy and executors, never through an agent tool")
        if tool.name in self._tools or tool.wire_name in self._by_wire:
            raise ToolRegistryError(f"tool {tool.name} is registered twice")
        self._tools[tool.name] = tool
        self._by_wire[tool.wire_name] = tool

    def get(self, name: str) -> ToolSpec | None:
        """By dotted name or by wire name; None when no such tool is registered."""
        return self._tools.get(name) or self._by_wire.get(name)

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(sorted(self._tools.values(), key=lambda t: t.name))

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return sorted(self._tools)


def read_tool_registry(ports: ToolPorts) -> ToolRegistry:
    """The five read tools bound to ``ports``."""
    return ToolRegistry([*context_tools(ports.signals, ports.memory, ports.graph),
                         *snapshot_tools(ports.snapshots)])
