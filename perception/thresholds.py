"""The numbers every signal rule uses (documented in perception/README.md)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SignalThresholds:
    # usage_drop: the account's daily active users (all products) fall below drop_ratio x the median
    # of the preceding baseline_days; high severity at or below high_drop_ratio.
    usage_drop_ratio: float = 0.6
    usage_high_drop_ratio: float = 0.35
    # expansion_intent: seats used (busiest product) reach seat_ratio of seats licensed, from a
    # baseline below expansion_baseline_ratio; high severity when at or over the licence.
    expansion_seat_ratio: float = 0.95
    expansion_baseline_ratio: float = 0.9
    expansion_high_seat_ratio: float = 1.0
    # usage baselines: median of the previous baseline_days, needing at least min_history_days;
    # a condition that began more than max_age_days before the snapshot's last day is not re-raised.
    baseline_days: int = 7
    min_history_days: int = 5
    max_age_days: int = 7
    # deal_slipped: an open opportunity's close date moves later by at least slip_min_days.
    slip_min_days: int = 7
    slip_medium_days: int = 14
    slip_high_days: int = 30
    # deals at or above this amount are high severity when they slip or regress.
    high_value_amount: float = 100_000.0
    # stage_regression: moving back this many open stages or more is high severity.
    regression_high_steps: int = 2
