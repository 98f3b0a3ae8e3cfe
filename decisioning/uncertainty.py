"""When the playbook agent should not act: contradicting signals and evidence too thin to act on.

Each rule returns the abstention's reason, saying what was missing or contradicting; None to go ahead."""

from __future__ import annotations

from perception.contracts import Severity, Signal, SignalKind
from world_model.contracts import AccountContext

# Kinds that, raised on one account in one run, tell opposite stories: better to ask a human than to
# pick one. Value: why they contradict.
CONFLICTING_KINDS: dict[frozenset[SignalKind], str] = {
    frozenset({SignalKind.expansion_intent, SignalKind.usage_drop}):
        "the account shows expansion intent while its product usage drops",
    frozenset({SignalKind.expansion_intent, SignalKind.amount_reduced}):
        "the account shows expansion intent while a deal's amount was cut",
    frozenset({SignalKind.expansion_intent, SignalKind.seat_contraction}):
        "the account shows expansion intent while it cuts seats",
}

# A low-severity signal below this heat (perception/heat.py: little money at stake, or old) is not
# acted on alone.
THIN_EVIDENCE_HEAT = 15.0


def conflicts(signals: list[Signal]) -> list[tuple[frozenset[SignalKind], str]]:
    """Every conflicting pair present among ``signals``, with its reason, in table order."""
    kinds = {s.kind for s in signals}
    return [(pair, f"conflicting evidence: {' and '.join(sorted(pair))} arrived together ({why}); "
                   "a human should judge the account")
            for pair, why in CONFLICTING_KINDS.items() if pair <= kinds]


def thin_evidence(signals: list[Signal], context: AccountContext, min_heat: float) -> str | None:
    """One low-severity, low-heat signal that nothing corroborates (no other signal now, none recent in
    the graph) is too little to act on."""
    if len(signals) != 1:
        return None
    (signal,) = signals
    if signal.severity is not Severity.low or signal.heat >= min_heat:
        return None
    if set(context.recent_signal_ids) - {signal.signal_id}:
        return None
    return (f"thin evidence: a single low-severity {signal.kind.value} signal (heat {signal.heat:g} < "
            f"{min_heat:g}) and no other recent signal on the account corroborates it; waiting for more")
