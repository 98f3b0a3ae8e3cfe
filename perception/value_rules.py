"""Money changes: seats licensed cut (seat_contraction) and an open deal's amount cut (amount_reduced).

Both compare the field's value before and after; sub-threshold edits (seat true-ups, re-quotes) are
ordinary CRM life and raise nothing."""

from __future__ import annotations

from typing import Any

from perception.contracts import Evidence, FieldChange, Severity, Signal, SignalKind
from perception.thresholds import SignalThresholds


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number == number else None  # NaN is no number


def _cut(change: FieldChange, min_ratio: float) -> tuple[float, float, float] | None:
    """(before, after, share lost) when the value fell by at least ``min_ratio``."""
    before, after = _number(change.before), _number(change.after)
    if before is None or after is None or before <= 0 or after >= before:
        return None
    lost = (before - after) / before
    return (before, after, lost) if lost >= min_ratio else None


def seat_contraction(base: dict[str, Any], change: FieldChange, arr: float, name: str,
                     t: SignalThresholds) -> list[Signal]:
    cut = _cut(change, t.seat_contraction_min_ratio)
    if cut is None:
        return []
    before, after, lost = cut
    high = lost >= t.seat_contraction_high_ratio or arr >= t.high_value_arr
    day = base["observed_at"].date().isoformat()
    return [Signal(**base, entity_type="account", kind=SignalKind.seat_contraction,
                   severity=Severity.high if high else Severity.medium,
                   evidence=[Evidence(object="accounts", entity_id=base["entity_id"], field="seats_licensed",
                                      before=int(before), after=int(after),
                                      note=f"{100 * lost:.0f}% fewer seats")],
                   dedupe_key=f"{base['tenant']}|seat_contraction|{base['entity_id']}|{int(after)}|{day}",
                   narrative=f"{name} cut its licensed seats from {int(before)} to {int(after)} "
                             f"({100 * lost:.0f}% fewer).")]


def amount_reduced(base: dict[str, Any], change: FieldChange, deal: str, account: str,
                   t: SignalThresholds) -> list[Signal]:
    cut = _cut(change, t.amount_reduced_min_ratio)
    if cut is None:
        return []
    before, after, lost = cut
    high = lost >= t.amount_reduced_high_ratio or before >= t.high_value_amount
    day = base["observed_at"].date().isoformat()
    return [Signal(**base, entity_type="opportunity", kind=SignalKind.amount_reduced,
                   severity=Severity.high if high else Severity.medium,
                   evidence=[Evidence(object="opportunities", entity_id=base["entity_id"], field="amount",
                                      before=before, after=after, note=f"{100 * lost:.0f}% less")],
                   dedupe_key=f"{base['tenant']}|amount_reduced|{base['entity_id']}|{after:.2f}|{day}",
                   narrative=f"Deal {deal} at {account} shrank {100 * lost:.0f}%: amount cut from "
                             f"{before:,.0f} to {after:,.0f}.")]
