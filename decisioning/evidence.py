"""What a proposal cites and how sure it is: signals, the graph paths through their entities, memory hits."""

from __future__ import annotations

import hashlib

from decisioning.contracts import ActionType, Citation
from decisioning.plays import PlayStep, Situation
from perception.contracts import Severity
from world_model.contracts import GraphPath, MemoryHit

MAX_PATHS_PER_SIGNAL = 5
SEVERITY_RANK: dict[Severity, int] = {Severity.high: 2, Severity.medium: 1, Severity.low: 0}
_SEVERITY_ADJUSTMENT: dict[Severity, float] = {Severity.high: 0.1, Severity.medium: 0.0, Severity.low: -0.1}


def proposal_id(tenant: str, action_type: ActionType, signal_ids: list[str]) -> str:
    """Deterministic: re-deciding on the same signals yields the same id (dedupe downstream)."""
    material = "|".join([tenant, action_type.value, *sorted(signal_ids)])
    return "prop_" + hashlib.sha256(material.encode()).hexdigest()[:20]


def _mentions(path: GraphPath, entity_id: str) -> bool:
    return any(step == entity_id or step.endswith(":" + entity_id) for step in path.steps)


def citations(situation: Situation, memory_hits: list[MemoryHit]) -> list[Citation]:
    cited: list[Citation] = []
    seen_paths: set[str] = set()
    for signal in situation.signals:
        cited.append(Citation(kind="signal", ref=signal.signal_id, detail=signal.narrative))
        # Paths through the signal itself first (Account -> RAISED -> Signal -> ...), then its entity.
        paths = situation.context.paths
        relevant = [p for p in paths if _mentions(p, signal.signal_id)]
        relevant += [p for p in paths if _mentions(p, signal.entity_id) and p not in relevant]
        for path in relevant[:MAX_PATHS_PER_SIGNAL]:
            if str(path) not in seen_paths:
                seen_paths.add(str(path))
                cited.append(Citation(kind="graph_path", ref=str(path)))
    for hit in memory_hits:
        cited.append(Citation(kind="memory_hit", ref=hit.doc_id,
                              detail=f"{hit.source}, score {hit.score:.2f}: {hit.snippet[:160]}"))
    return cited


def top_memory_hits(memory_hits: list[MemoryHit], limit: int) -> list[MemoryHit]:
    return sorted(memory_hits, key=lambda hit: (-hit.score, hit.doc_id))[:limit]


def confidence(step: PlayStep, situation: Situation) -> float:
    """Base confidence of the play, moved by the strongest signal's severity and by corroboration."""
    strongest = max(situation.signals, key=lambda s: SEVERITY_RANK[s.severity]).severity
    corroboration = min(0.1, 0.05 * (len(situation.signals) - 1))
    value = step.base_confidence + _SEVERITY_ADJUSTMENT[strongest] + corroboration
    return round(min(0.95, max(0.05, value)), 2)


def rationale(step: PlayStep, situation: Situation, memory_cited: int) -> str:
    ctx = situation.context
    facts = [f"{situation.account_label} ({ctx.account_id}), owner {ctx.owner or 'unknown'}."]
    facts += situation.narratives
    if ctx.champions:
        facts.append("Champions: " + ", ".join(c.name for c in ctx.champions) + ".")
    if ctx.open_opportunities:
        total = sum(o.amount or 0.0 for o in ctx.open_opportunities)
        facts.append(f"{len(ctx.open_opportunities)} open opportunities worth {total:,.0f}.")
    if memory_cited:
        facts.append(f"{memory_cited} related memories cited.")
    facts.append(f"Play for {situation.kind.value}: {step.action_type.value} — {step.expected_effect}")
    return " ".join(facts)
