"""``revloop mcp serve``: the decision agent's read tools as an MCP server (stdio or streamable HTTP).

Register with ``app.add_typer(mcp_app, name="mcp")`` in revloop/cli.py (``from revloop.commands.mcp
import app as mcp_app``). One server serves one tenant, fixed at start; every call is checked by the
tool policy (decisioning/tools/policies/) and appended to the ledger as ``tool.called``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from decisioning.contracts import RiskTier
from revloop.settings import Settings, load_settings

if TYPE_CHECKING:
    from decisioning.tools import ToolCall, ToolPorts
    from world_model.contracts import MemoryHit
    from world_model.memory import LanceDbMemory

app = typer.Typer(help="Serve the decision agent's read tools to external agents over MCP.",
                  no_args_is_help=True)
DOMAINS = ("signals", "crm", "telemetry", "memory", "graph")


@app.callback()
def mcp() -> None:
    """Serve the decision agent's read tools to external agents over MCP."""


class _MemoryOnFirstSearch:
    """LanceDB and the embedding model take seconds to load: only when a client first searches."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._memory: LanceDbMemory | None = None

    def search(self, tenant: str, query: str, k: int = 5, account_id: str | None = None) -> list[MemoryHit]:
        if self._memory is None:
            from world_model.embedder import SentenceTransformerEmbedder
            from world_model.memory import LanceDbMemory

            self._memory = LanceDbMemory(self._settings.paths.vectors,
                                         SentenceTransformerEmbedder(self._settings.embedding_model))
        return self._memory.search(tenant, query, k=k, account_id=account_id)


def open_tool_ports(settings: Settings) -> ToolPorts:
    """Read-only views over the embedded stores of ``settings``."""
    from decisioning.tools import ToolPorts
    from perception.snapshot_store import NormalizedSnapshotStore
    from revloop.wiring import open_signal_store
    from world_model.graph import open_gremlite_graph

    return ToolPorts.read_only(
        signals=open_signal_store(settings), graph=open_gremlite_graph(settings.paths.graph_db),
        memory=_MemoryOnFirstSearch(settings), snapshots=NormalizedSnapshotStore(settings.paths.lake),
    )


@app.command("serve")
def serve(
    tenant: Annotated[str, typer.Option(help="The tenant whose data the tools read (fixed for the server).")],
    http: Annotated[int | None, typer.Option(help="Serve streamable HTTP on this port (at /mcp) instead of "
                                                  "stdio.")] = None,
    host: Annotated[str, typer.Option(help="HTTP bind address; keep it on loopback: there is no auth.")]
    = "127.0.0.1",
    principal: Annotated[str, typer.Option(help="The caller's name in tool policy and ledger.")]
    = "mcp-client",
    max_tier: Annotated[RiskTier, typer.Option(help="Highest tool tier the caller is cleared for.")]
    = RiskTier.L1,
    deny: Annotated[list[str] | None, typer.Option(help=f"A data domain the caller must not read "
                                                        f"({', '.join(DOMAINS)}); repeatable.")] = None,
) -> None:
    """Serve signals.list_recent, crm.get_commercial_window, telemetry.get_health_summary, memory.search
    and graph.account_context for one tenant."""
    import anyio

    from decisioning.tools import ToolPrincipal, ToolSession, read_tool_registry
    from decisioning.tools.mcp_server import build_mcp_server
    from revloop.wiring import open_ledger
    from world_model.tenancy import InvalidTenantError, validate_tenant

    unknown = sorted(set(deny or ()) - set(DOMAINS))
    if unknown:
        raise typer.BadParameter(f"unknown domain(s) {unknown}; choose from {', '.join(DOMAINS)}",
                                 param_hint="--deny")
    try:
        validate_tenant(tenant)
    except InvalidTenantError as exc:
        raise typer.BadParameter(str(exc), param_hint="--tenant") from None
    settings = load_settings()
    settings.paths.ensure()
    if tenant not in settings.tenants:
        typer.echo(f"note: {tenant!r} is not among REVLOOP_DEMO_TENANTS ({', '.join(settings.tenants)})",
                   err=True)
    ledger = open_ledger(settings)

    def record(call: ToolCall) -> None:
        ledger.append(call.tenant, "tool.called", f"mcp:{call.principal}", call.model_dump(mode="json"))

    session = ToolSession(read_tool_registry(open_tool_ports(settings)), tenant,
                          ToolPrincipal(principal, max_tier=max_tier, denied_domains=frozenset(deny or ())))
    server = build_mcp_server(session, on_call=record)
    if http is None:
        from mcp.server.stdio import stdio_server

        async def run_stdio() -> None:
            async with stdio_server() as (read, write):
                await server.run(read, write, server.create_initialization_options())

        anyio.run(run_stdio)
        return
    import uvicorn

    print(f"revloop MCP tools for tenant {tenant} on http://{host}:{http}/mcp", file=sys.stderr, flush=True)
    uvicorn.run(server.streamable_http_app(host=host), host=host, port=http, log_level="warning")
