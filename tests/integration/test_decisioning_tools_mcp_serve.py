"""``revloop mcp serve`` as an MCP client meets it: a subprocess over stdio, and over streamable HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters

from ledger.sql import sqlite_url
from ledger.store import Ledger
from perception.contracts import SignalKind
from perception.signal_store import SignalStore
from tests.unit.test_decisioning_fixtures import make_signal

ROOT = Path(__file__).resolve().parents[2]
CLI = ["-c", "from revloop.commands.mcp import app; app()", "serve", "--tenant", "acme"]


def environment(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "REVLOOP_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}


def seeded(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    signals = [make_signal(SignalKind.deal_slipped), make_signal(SignalKind.usage_drop, tenant="globex")]
    SignalStore(sqlite_url(data / "state.sqlite")).add_new(signals)
    return data


async def exercise(client: Client) -> tuple[list[str], Any]:
    listed = await client.list_tools()
    called = await client.call_tool("signals.list_recent", {"account_id": "acc_1"})
    return sorted(t.name for t in listed.tools), called


def check(data: Path, names: list[str], called: Any) -> None:
    assert "signals.list_recent" in names and len(names) == 5
    assert not called.is_error
    assert [s["kind"] for s in called.structured_content["signals"]] == ["deal_slipped"]  # acme's only
    entries = Ledger(sqlite_url(data / "state.sqlite")).entries("acme", kind="tool.called")
    assert [e.payload["tool"] for e in entries] == ["signals.list_recent"]
    assert entries[0].actor == "mcp:mcp-client" and entries[0].payload["status"] == "ok"


def test_stdio(tmp_path: Path) -> None:
    data = seeded(tmp_path)
    params = StdioServerParameters(command=sys.executable, args=CLI, env=environment(data), cwd=ROOT)

    async def main() -> tuple[list[str], Any]:
        async with Client(params) as client:
            return await exercise(client)

    names, called = anyio.run(main)

    check(data, names, called)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_streamable_http(tmp_path: Path) -> None:
    data = seeded(tmp_path)
    port = free_port()
    server = subprocess.Popen([sys.executable, *CLI, "--http", str(port)], env=environment(data), cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else "server exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MCP server did not start listening within 60 s"
                time.sleep(0.2)

        async def main() -> tuple[list[str], Any]:
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await exercise(client)

        names, called = anyio.run(main)
    finally:
        server.terminate()
        server.wait(timeout=20)

    check(data, names, called)
