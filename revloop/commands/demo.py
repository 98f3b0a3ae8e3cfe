"""``revloop demo advance|score|score-loop``: the demo world and how well signals match its ground truth.

Register with ``app.add_typer(demo_app, name="demo")`` in revloop/cli.py (``from revloop.commands.demo
import app as demo_app``), in place of the demo sub-app defined there."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revloop.settings import Settings, load_settings

if TYPE_CHECKING:
    from perception.thresholds import SignalThresholds

app = typer.Typer(help="The demo world: a seeded simulator of tenants, accounts, deals, activity and usage.",
                  no_args_is_help=True)


def _settings() -> Settings:
    settings = load_settings()
    settings.paths.ensure()
    return settings


@app.command("advance")
def advance(days: Annotated[int, typer.Option(min=1, help="Days to simulate.")] = 1) -> None:
    """Advance the demo world under the data dir and print the ground-truth events of each day."""
    from revloop.wiring import ensure_demo_world

    world = ensure_demo_world(_settings())
    for _ in range(days):
        events = world.advance_day()
        typer.echo(f"{world.current_day}: {len(events)} events "
                   + ", ".join(sorted({e.kind for e in events})))


@app.command("score")
def score(
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 30,
    tenants: Annotated[int, typer.Option(min=1, help="Simulated tenants.")] = 2,
    accounts: Annotated[int, typer.Option(min=1, help="Accounts per tenant.")] = 40,
    seed: Annotated[int, typer.Option(help="Seed of the simulator.")] = 7,
    event_rate: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Chance per account and day of an injected event.")] = 0.04,
    target: Annotated[float, typer.Option(min=0.0, max=1.0,
                                          help="Precision and recall every kind must reach.")] = 0.95,
    thresholds: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="YAML/JSON mapping of signal thresholds to use instead of the "
        "defaults (keys: perception/thresholds.py).")] = None,
) -> None:
    """Run a fresh demo world for DAYS days in this process (export -> normalize -> diff -> signals, in a
    temporary directory) and print TP/FP/FN/precision/recall per signal kind. Exits 1 when any kind is
    below TARGET."""
    from perception.scoring import below_target, format_scores, score_demo_world

    started = time.perf_counter()
    names = [f"tenant-{i + 1}" for i in range(tenants)]
    result = score_demo_world(days, names, accounts, seed, event_rate, _thresholds(thresholds))
    typer.echo(format_scores(result.scores, target))
    elapsed = time.perf_counter() - started
    typer.echo(f"{len(result.truth)} ground-truth events, {len(result.signals)} signals, "
               f"{days} days x {tenants} tenants x {accounts} accounts in {elapsed:.1f} s")
    failing = below_target(result.scores, target)
    if failing:
        typer.echo(f"below target {target:.2f}: {', '.join(failing)}", err=True)
        raise typer.Exit(1)


def _thresholds(path: Path | None) -> SignalThresholds | None:
    if path is None:
        return None
    import yaml

    from perception.thresholds import SignalThresholds, ThresholdsError

    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(values, dict):
            raise ThresholdsError(f"expected a mapping of names to values, got {type(values).__name__}")
        return SignalThresholds.from_mapping(values)
    except (yaml.YAMLError, ThresholdsError) as exc:
        typer.echo(f"{path}: {exc}", err=True)
        raise typer.Exit(2) from exc


@app.command("score-loop")
def score_loop(
    target: Annotated[float, typer.Option(min=0.0, max=1.0,
                                          help="Precision and recall every kind must reach.")] = 0.95,
) -> None:
    """Score the signals the loop stored so far against the ground truth of the demo world under the data
    dir. Exits 1 when a kind that has events or signals is below TARGET."""
    from perception.scoring import below_target, format_scores, score_signals
    from revloop.wiring import ensure_demo_world, open_signal_store

    settings = _settings()
    world = ensure_demo_world(settings)
    scores = score_signals(open_signal_store(settings).list(), world.ground_truth())
    typer.echo(format_scores(scores, target))
    failing = below_target(scores, target)
    if failing:
        typer.echo(f"below target {target:.2f}: {', '.join(failing)}", err=True)
        raise typer.Exit(1)
