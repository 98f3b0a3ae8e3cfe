"""Score detected signals against the demo world's ground truth, per signal kind.

A signal matches an event of the same tenant, kind, account and entity observed on the event's day or
up to `max_lag_days` later; each event and each signal is matched at most once. Signals are first
collapsed by signal_id (what SignalStore keeps)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from connectors.demo.events import GroundTruthEvent
from perception.contracts import Signal, SignalKind


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


def format_scores(scores: dict[str, KindScore]) -> str:
    """A plain-text table for the CLI and benchmark reports."""
    lines = [f"{'kind':<20}{'precision':>10}{'recall':>8}{'tp':>6}{'fp':>6}{'fn':>6}"]
    for kind, s in scores.items():
        lines.append(f"{kind:<20}{s.precision:>10.3f}{s.recall:>8.3f}{s.tp:>6}{s.fp:>6}{s.fn:>6}")
    return "\n".join(lines)
