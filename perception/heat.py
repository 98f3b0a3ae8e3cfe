"""Heat: one number in [0, 100] that says how urgently a signal wants attention.

    heat = 100 x severity_weight x (0.25 + 0.75 x stake_factor) x recency

- severity_weight: high 1.0, medium 0.6, low 0.3;
- stake_factor = min(1, sqrt(stake / heat_full_stake)); the stake is the money at risk: the deal's
  amount for deal signals, the account's ARR otherwise (0 when unknown, which keeps a quarter of the heat);
- recency = 0.5 ** (days from the episode's start to the observation / heat_half_life_days); a
  change is observed the day it happens (recency 1).

Rounded to one decimal."""

from __future__ import annotations

import math
from datetime import date

from perception.contracts import Severity
from perception.thresholds import SignalThresholds

SEVERITY_WEIGHT: dict[Severity, float] = {Severity.high: 1.0, Severity.medium: 0.6, Severity.low: 0.3}


def heat_score(severity: Severity, stake: float | None, t: SignalThresholds, began_on: date | None = None,
               observed_on: date | None = None) -> float:
    stake_factor = min(1.0, math.sqrt(max(0.0, stake or 0.0) / t.heat_full_stake))
    age = max(0, (observed_on - began_on).days) if began_on and observed_on else 0
    recency = 0.5 ** (age / t.heat_half_life_days)
    value = 100.0 * SEVERITY_WEIGHT[severity] * (0.25 + 0.75 * stake_factor) * recency
    return round(min(100.0, max(0.0, value)), 1)
