"""``revloop replay PROPOSAL_ID --tenant T`` / ``revloop replay --all --tenant T``: rebuild recorded
decisions from the ledger and check every hash (decisioning/replay.py). Exit 1 on any mismatch.

Register in revloop/cli.py with ``app.add_typer(replay_app, name="replay")`` (``from
revloop.commands.replay import app as replay_app``)."""

from __future__ import annotations

from typing import Annotated

import typer

from decisioning.replay import ReplaySummary, replay_all, replay_proposal
from ledger.store import Ledger

app = typer.Typer(help="Rebuild recorded decisions from the ledger and check their hashes.",
                  context_settings={"allow_interspersed_args": True})


def _ledger() -> Ledger:
    from revloop.settings import load_settings
    from revloop.wiring import open_ledger

    settings = load_settings()
    settings.paths.ensure()
    return open_ledger(settings)


def run_replay(ledger: Ledger, tenant: str, proposal_id: str | None, every: bool) -> int:
    """Print the report; return the exit code: 0 all match, 1 a mismatch (or, for one proposal, not
    replayable), 2 bad usage."""
    if every == (proposal_id is not None):
        typer.echo("give either a PROPOSAL_ID or --all", err=True)
        return 2
    if proposal_id is not None:
        report = replay_proposal(ledger, tenant, proposal_id)
        typer.echo(report.describe())
        return 0 if report.matches else 1
    summary: ReplaySummary = replay_all(ledger, tenant)
    typer.echo(summary.describe())
    return 0 if summary.ok else 1


@app.callback(invoke_without_command=True)
def replay(
    tenant: Annotated[str, typer.Option("--tenant", "-t", help="The tenant whose ledger to read.")],
    proposal_id: Annotated[str | None, typer.Argument(help="The proposal to replay.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Replay every proposal of the tenant.")] = False,
) -> None:
    raise typer.Exit(run_replay(_ledger(), tenant, proposal_id, every))
