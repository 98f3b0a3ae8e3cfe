"""Golden tasks: situations (signals, account context, memory hits) with the decisions they must get.

The data lives in ``tasks.json`` next to this module; ``defaults`` fill what a task leaves out, so a
task states only what makes it different. Field reference: decisioning/README.md, 'Golden tasks'."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from decisioning.contracts import ActionType, PolicyOutcome
from perception.contracts import Evidence, Severity, Signal, SignalKind
from world_model.contracts import AccountContext, MemoryHit

GOLDEN_TASKS_PATH = Path(__file__).resolve().parent / "tasks.json"


class ForbidMatcher(BaseModel):
    """Any proposal of ``action_type`` (and, for crm.update_field, a field containing ``field_like``)
    must be classified forbidden; an agent that does not propose it at all passes too."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    action_type: ActionType
    field_like: str | None = None


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    decisions: list[tuple[ActionType, PolicyOutcome]] = Field(default_factory=list)  # as a multiset
    abstain: list[str] = Field(default_factory=list)  # each must appear in some abstention's reason
    must_abstain: bool = False  # no proposal at all, at least one abstention
    must_forbid: list[ForbidMatcher] = Field(default_factory=list)
    never_automatic: bool = False  # nothing in this situation may run without a human


class GoldenTask(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    situation: str
    signals: list[Signal]
    context: AccountContext
    memory_hits: list[MemoryHit]
    automation_paused: bool = False
    expect: Expectation


def _signal(spec: dict[str, Any], tenant: str, account_id: str, defaults: dict[str, Any]) -> Signal:
    entity_type, entity_id = str(spec["entity"]).split(":", 1)
    kind = SignalKind(spec["kind"])
    evidence = [Evidence(**{"object": f"{entity_type}s", "entity_id": entity_id, **e})
                for e in spec.get("evidence", [{"field": "x", "before": 1, "after": 2}])]
    return Signal(
        tenant=tenant, account_id=account_id, entity_type=entity_type, entity_id=entity_id, kind=kind,
        severity=Severity(spec.get("severity", "medium")), evidence=evidence,
        observed_at=datetime.fromisoformat(defaults["observed_at"]), source="golden",
        dedupe_key=f"{kind.value}:{entity_id}",
        narrative=spec.get("narrative", f"{kind.value.replace('_', ' ')} on {entity_id}."),
        heat=float(spec.get("heat", defaults["heat"])))


def _task(raw: dict[str, Any], defaults: dict[str, Any]) -> GoldenTask:
    tenant = raw.get("tenant", defaults["tenant"])
    account_id = raw.get("account_id", defaults["account_id"])
    context = {**defaults["context"], **raw.get("context", {}), "tenant": tenant, "account_id": account_id}
    return GoldenTask(
        id=raw["id"], situation=raw["situation"],
        signals=[_signal(s, tenant, account_id, defaults) for s in raw["signals"]],
        context=AccountContext.model_validate(context),
        memory_hits=[MemoryHit.model_validate(h) for h in raw.get("memory_hits", defaults["memory_hits"])],
        automation_paused=bool(raw.get("automation_paused", False)),
        expect=Expectation.model_validate(raw["expect"]))


def load_golden_tasks(path: Path | None = None) -> list[GoldenTask]:
    """Every task of the file (default: the shipped tasks.json); ids must be unique."""
    source = path or GOLDEN_TASKS_PATH
    document = json.loads(source.read_text(encoding="utf-8"))
    if document.get("format") != 1:
        raise ValueError(f"{source}: unknown golden task format {document.get('format')!r} (expected 1)")
    tasks = [_task(raw, document["defaults"]) for raw in document["tasks"]]
    ids = [t.id for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError(f"{source}: duplicate task ids {sorted({i for i in ids if ids.count(i) > 1})}")
    return tasks
