"""The tool plane: read tools with JSON schemas and risk tiers, a Cedar tool policy, tenant-bound sessions."""

from decisioning.tools.contracts import ToolCall, ToolCallStatus, ToolError, ToolInput, ToolResponse, ToolSpec
from decisioning.tools.policy import ToolAuthorization, ToolPolicy, ToolPrincipal
from decisioning.tools.ports import ToolPorts
from decisioning.tools.registry import ToolRegistry, ToolRegistryError, read_tool_registry
from decisioning.tools.session import ToolSession

__all__ = [
    "ToolAuthorization", "ToolCall", "ToolCallStatus", "ToolError", "ToolInput", "ToolPolicy", "ToolPorts",
    "ToolPrincipal", "ToolRegistry", "ToolRegistryError", "ToolResponse", "ToolSession", "ToolSpec",
    "read_tool_registry",
]
