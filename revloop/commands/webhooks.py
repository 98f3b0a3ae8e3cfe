"""``revloop webhook dlq list|redrive``: inspect and re-drive dead-lettered webhook events.

Register with ``app.add_typer(webhooks_app, name="webhooks")`` in revloop/cli.py."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from connectors.webhooks.port import DeadLetter, WebhookInboxPort
from revloop.settings import load_settings

webhooks_app = typer.Typer(help="Operate the webhook inbox.", no_args_is_help=True)
dlq_app = typer.Typer(help="Dead-lettered webhook events: events that failed processing too often.",
                      no_args_is_help=True)
webhooks_app.add_typer(dlq_app, name="dlq")

PREVIEW_CHARS = 80


def open_inbox() -> WebhookInboxPort:
    """The inbox the receiver writes to (SQL, or SQS when configured)."""
    from revloop.app import webhook_inbox

    settings = load_settings()
    settings.paths.ensure()
    return webhook_inbox(settings)


def describe(letter: DeadLetter) -> str:
    body = letter.body.decode("utf-8", errors="replace")
    preview = body if len(body) <= PREVIEW_CHARS else body[:PREVIEW_CHARS - 1] + "…"
    return (f"{letter.id}\t{letter.tenant}\t{letter.source}\t{letter.delivery_id}\t"
            f"attempts={letter.attempts}\ttrace={letter.trace_id or '-'}\n"
            f"\terror: {letter.error or '-'}\n\tbody:  {preview}")


def as_json(letter: DeadLetter) -> dict[str, object]:
    return {"id": letter.id, "tenant": letter.tenant, "source": letter.source,
            "delivery_id": letter.delivery_id, "received_at": letter.received_at.isoformat(),
            "attempts": letter.attempts, "trace_id": letter.trace_id, "error": letter.error,
            "body": letter.body.decode("utf-8", errors="replace")}


@dlq_app.command("list")
def dlq_list(
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
    as_json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List dead letters, oldest first, with the error that parked each one."""
    letters = open_inbox().dead_letters(limit)
    for letter in letters:
        typer.echo(json.dumps(as_json(letter)) if as_json_lines else describe(letter))
    if not as_json_lines:
        typer.echo(f"{len(letters)} dead letter(s)", err=True)


@dlq_app.command("redrive")
def dlq_redrive(
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids (from 'dlq list').")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Re-drive every dead letter.")] = False,
) -> None:
    """Put dead letters back in the inbox with fresh attempts and new ids (fix the cause first); the
    webhook sensor launches their runs on its next tick."""
    if bool(ids) == all_:
        typer.echo("give dead-letter ids or --all (not both)", err=True)
        raise typer.Exit(2)
    try:
        count = open_inbox().redrive(None if all_ else ids)
    except KeyError as exc:
        typer.echo(str(exc.args[0]) if exc.args else str(exc), err=True)
        raise typer.Exit(1) from None
    typer.echo(f"re-drove {count} dead letter(s); the webhook sensor launches their runs within seconds "
               "(webhook_inbox_sensor, Dagster UI)")
