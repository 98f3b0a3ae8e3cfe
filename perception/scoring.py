"""Score detected signals against the demo world's ground truth, per signal kind.

A signal matches an event of the same tenant, kind, account and entity observed on the event's day or
up to `max_lag_days` later; each event and each signal is matched at most once. Signals are first
collapsed by signal_id (what SignalStore keeps).

:func:`score_demo_world` runs a fresh demo world for N days through export -> normalize -> diff ->
signals in this process (no Dagster, no stores) and scores what it raised."""

from __future__ import annotations

import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from connectors.demo.connector import DemoConnector
from connectors.demo.events import GroundTruthEvent
from connectors.demo.world import DemoWorld
from perception.condition_rules import ConditionHistory
from perception.contracts import Signal, SignalKind
from perception.diff import diff_snapshots
from perception.normalize import normalize
from perception.signals import detect_signals
from perception.thresholds import SignalThresholds

TARGET = 0.95  # precision and recall every kind must reach on the demo world


@dataclass(frozen=True)
class KindScore:
    precision: float  # 1.0 when nothing was raised
    recall: float  # 1.0 when nothing happened
    tp: int
    fp: int
    fn: int


def score_signals(signals: list[Signal], truth: list[GroundTruthEvent], max_lag_days: int = 2
                  ) -> dict[str, KindScore]:
    unique = {s.signal_id: s for s in sorted(signals, key=lambda s: s.observed_at, reverse=True)}
    raised: dict[tuple[str, ...], list[Signal]] = defaultdict(list)
    for s in unique.values():
        raised[(s.kind.value, s.tenant, s.account_id, s.entity_id)].append(s)
    happened: dict[tuple[str, ...], list[GroundTruthEvent]] = defaultdict(list)
    for e in truth:
        happened[(e.kind, e.tenant, e.account_id, e.entity_id)].append(e)
    tp: dict[str, int] = defaultdict(int)
    for key in raised.keys() & happened.keys():
        events = sorted(happened[key], key=lambda e: e.day)
        used = [False] * len(events)
        for s in sorted(raised[key], key=lambda s: s.observed_at):
            seen = s.observed_at.date()
            for i, e in enumerate(events):
                if not used[i] and 0 <= (seen - e.day).days <= max_lag_days:
                    used[i] = True
                    tp[key[0]] += 1
                    break
    scores = {}
    for kind in [k.value for k in SignalKind]:
        n_raised = sum(len(v) for k, v in raised.items() if k[0] == kind)
        n_true = sum(len(v) for k, v in happened.items() if k[0] == kind)
        hits = tp[kind]
        scores[kind] = KindScore(precision=hits / n_raised if n_raised else 1.0,
                                 recall=hits / n_true if n_true else 1.0,
                                 tp=hits, fp=n_raised - hits, fn=n_true - hits)
    return scores


def format_scores(scores: dict[str, KindScore], target: float | None = None) -> str:
    """A plain-text table for the CLI and benchmark reports; with ``target``, kinds below it are marked."""
    lines = [f"{'kind':<22}{'tp':>6}{'fp':>6}{'fn':>6}{'precision':>11}{'recall':>8}"]
    for kind, s in scores.items():
        mark = "  BELOW TARGET" if target is not None and min(s.precision, s.recall) < target else ""
        lines.append(f"{kind:<22}{s.tp:>6}{s.fp:>6}{s.fn:>6}{s.precision:>11.3f}{s.recall:>8.3f}{mark}")
    return "\n".join(lines)


def below_target(scores: dict[str, KindScore], target: float = TARGET) -> list[str]:
    return [kind for kind, s in scores.items() if s.precision < target or s.recall < target]


@dataclass(frozen=True)
class DemoScore:
    scores: dict[str, KindScore]
    signals: list[Signal]
    truth: list[GroundTruthEvent]


def score_demo_world(days: int, tenants: list[str], accounts: int, seed: int, event_rate: float = 0.04,
                     thresholds: SignalThresholds | None = None, workdir: Path | None = None) -> DemoScore:
    """Simulate ``days`` days of a new demo world and score the signals raised day by day.

    The world keeps its state and exports under ``workdir`` (a temporary directory when None, removed
    afterwards); ``workdir`` must not hold another demo world."""
    if days < 1:
        raise ValueError("days must be at least 1")
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="revloop-score-") as tmp:
            return score_demo_world(days, tenants, accounts, seed, event_rate, thresholds, Path(tmp))
    world = DemoWorld.create(workdir, tenants, accounts, seed, event_rate)
    connector = DemoConnector(workdir)
    previous = {tenant: normalize(connector.pull(tenant)) for tenant in tenants}
    history = ConditionHistory()
    signals: list[Signal] = []
    for _ in range(days):
        world.advance_day()
        for tenant in tenants:
            current = normalize(connector.pull(tenant))
            changes = diff_snapshots(previous[tenant], current)
            signals += detect_signals(current, previous[tenant], changes, thresholds, history)
            previous[tenant] = current
    truth = world.ground_truth()
    return DemoScore(score_signals(signals, truth), signals, truth)
