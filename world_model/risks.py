"""Risks: standing conditions on an account that signals evidence (pure).

Repeated signals of one condition (a usage drop raised week after week on the same account) roll up
into one Risk: its severity is the highest seen, ``first_seen_at``/``last_seen_at`` bound the signals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from perception.contracts import Severity, Signal, SignalKind
from world_model.graph_schema import ACCOUNT, ENTITY_LABELS, RISK, vertex_key
from world_model.projection import Scalar, utc_iso

Props = dict[str, Scalar]

# Signal kind -> the risk it evidences; expansion intent is an opportunity, not a risk.
RISK_KINDS: dict[SignalKind, str] = {
    SignalKind.usage_drop: "adoption",
    SignalKind.champion_departed: "champion_loss",
    SignalKind.deal_slipped: "deal_timing",
    SignalKind.stage_regression: "deal_health",
}
_SEVERITY_RANK = {Severity.low.value: 0, Severity.medium.value: 1, Severity.high.value: 2}


@dataclass(frozen=True)
class RiskSpec:
    key: str
    props: Props
    signal_keys: tuple[str, ...]
    affects: tuple[str, ...]  # vertex keys: the account, then the contact/opportunity at risk


def risk_id(kind: str, entity_type: str, entity_id: str) -> str:
    return f"{kind}:{entity_type}:{entity_id}"


def plan_risks(signals: Iterable[tuple[str, Signal]], existing: dict[str, Props]) -> list[RiskSpec]:
    """``signals``: (signal vertex key, signal); ``existing``: risk key -> stored properties."""
    grouped: dict[str, list[tuple[str, Signal]]] = {}
    for key, signal in signals:
        kind = RISK_KINDS.get(signal.kind)
        if kind is not None:
            rkey = vertex_key(signal.tenant, RISK, risk_id(kind, signal.entity_type, signal.entity_id))
            grouped.setdefault(rkey, []).append((key, signal))
    out = []
    for rkey, members in grouped.items():
        first = members[0][1]
        seen = [utc_iso(s.observed_at) for _, s in members]
        severities = [s.severity.value for _, s in members]
        stored = existing.get(rkey, {})
        if stored:
            seen += [str(stored["first_seen_at"]), str(stored["last_seen_at"])]
            severities.append(str(stored["severity"]))
        props: Props = {
            "risk_id": rkey.split("|", 2)[2], "kind": RISK_KINDS[first.kind], "account_id": first.account_id,
            "entity_type": first.entity_type, "entity_id": first.entity_id,
            "severity": max(severities, key=lambda s: _SEVERITY_RANK.get(s, -1)),
            "first_seen_at": min(seen), "last_seen_at": max(seen),
        }
        affects = [vertex_key(first.tenant, ACCOUNT, first.account_id)]
        label = ENTITY_LABELS.get(first.entity_type)
        if label is not None and label != ACCOUNT:
            affects.append(vertex_key(first.tenant, label, first.entity_id))
        out.append(RiskSpec(rkey, props, tuple(k for k, _ in members), tuple(affects)))
    return out
