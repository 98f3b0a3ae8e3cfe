"""The ``revloop`` command line. Every command reads its settings from ``REVLOOP_*`` variables."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from revloop.commands import analyze as analyze_commands
from revloop.commands import demo as demo_commands
from revloop.commands import ledger as ledger_commands
from revloop.commands import mcp as mcp_commands
from revloop.commands import policy as policy_commands
from revloop.commands import replay as replay_commands
from revloop.commands import webhooks as webhook_commands
from revloop.settings import Settings, load_settings

app = typer.Typer(help="revloop: the revenue decision loop. Settings come from REVLOOP_* variables "
                       "(see README); all state lives under REVLOOP_DATA_DIR (default ./.data).",
                  no_args_is_help=True, add_completion=False)
loop_app = typer.Typer(help="Run the decision loop.", no_args_is_help=True)
webhook_app = typer.Typer(help="Send signed webhooks to a running revloop web app; operate the inbox's "
                               "dead-letter queue.", no_args_is_help=True)
webhook_app.add_typer(webhook_commands.dlq_app, name="dlq")
app.add_typer(ledger_commands.app, name="ledger")
app.add_typer(loop_app, name="loop")
app.add_typer(demo_commands.app, name="demo")
app.add_typer(webhook_app, name="webhook")
app.add_typer(analyze_commands.app, name="analyze")
app.add_typer(policy_commands.app, name="policy")
app.add_typer(replay_commands.app, name="replay")
app.add_typer(mcp_commands.app, name="mcp")


def _settings() -> Settings:
    settings = load_settings()
    settings.paths.ensure()
    return settings


@app.command()
def init() -> None:
    """Create the data directory, the demo world (day 0) and the local webhook secrets."""
    from revloop.wiring import ensure_demo_world, ensure_webhook_secrets

    settings = _settings()
    world = ensure_demo_world(settings)
    ensure_webhook_secrets(settings)
    typer.echo(f"data dir: {settings.data_dir}")
    typer.echo(f"demo world: {len(world.tenants)} tenants, day {world.current_day}")


@loop_app.command("run")
def loop_run(days: Annotated[int, typer.Option(min=1, help="Demo days to advance first.")] = 1) -> None:
    """Advance the demo world and run the whole loop in this process (no UI needed)."""
    from pipelines.runner import run_loop_in_process

    settings = _settings()
    started = time.perf_counter()
    summary = run_loop_in_process(settings, days=days)
    typer.echo(json.dumps(summary, indent=2, default=str))
    typer.echo(f"loop finished in {time.perf_counter() - started:.1f} s")


@loop_app.command("launch")
def loop_launch(
    days: Annotated[int, typer.Option(min=1, help="Demo days to advance.")] = 1,
    wait: Annotated[bool, typer.Option(help="Wait for the run to finish.")] = True,
) -> None:
    """Advance the demo world in the Dagster instance behind the UI; its sensor runs the loop per tenant
    and new day (make run does this once). With --wait, follow those runs to the end."""
    from pipelines.runner import launch_loop_run

    settings = _settings()
    status = launch_loop_run(settings, days=days, wait=wait)
    typer.echo(status)
    if status not in {"SUCCESS", "QUEUED", "STARTED", "STARTING", "NOT_STARTED"}:  # TIMEOUT fails too
        raise typer.Exit(1)


@app.command()
def serve() -> None:
    """Start the revloop web app (review UI, JSON API, webhook receiver)."""
    import uvicorn

    settings = _settings()
    uvicorn.run("revloop.app:create_app_from_env", factory=True, host=settings.web_host,
                port=settings.web_port, log_level="info")


@webhook_app.command("send")
def webhook_send(
    file: Annotated[Path, typer.Argument(help="JSON event body to send.", exists=True)],
    tenant: Annotated[str, typer.Option(help="Tenant the event belongs to.")],
    source: Annotated[str, typer.Option(help="Webhook source.")] = "demo",
    url: Annotated[str | None, typer.Option(help="Base URL of the web app.")] = None,
) -> None:
    """Sign FILE with the tenant's local secret (Standard Webhooks) and POST it."""
    import uuid

    import httpx

    from connectors.webhooks.verify import sign
    from revloop.wiring import ensure_webhook_secrets

    settings = _settings()
    secrets = ensure_webhook_secrets(settings).secrets_for(tenant, source)
    if not secrets:
        typer.echo(f"no webhook secret for tenant {tenant!r} and source {source!r}", err=True)
        raise typer.Exit(2)
    body = file.read_bytes()
    delivery_id, timestamp = f"msg_{uuid.uuid4().hex}", int(time.time())
    headers = {"content-type": "application/json", "webhook-id": delivery_id,
               "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secrets[-1], delivery_id, timestamp, body)}
    base = url or f"http://{settings.web_host}:{settings.web_port}"
    response = httpx.post(f"{base}/webhooks/{source}", params={"tenant": tenant}, content=body,
                          headers=headers, timeout=10)
    typer.echo(f"{response.status_code} {response.text}")
    if response.status_code >= 300:
        raise typer.Exit(1)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
