"""The two answer tools the model fills: ``submit_proposal`` (the proposal schema) and ``abstain``; and the
check every submission passes before it may become a Proposal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from decisioning.actions import ACTION_ARGUMENT_MODELS, ACTION_RISK_FLOOR, validate_arguments
from decisioning.contracts import ActionType, Citation, RiskTier
from decisioning.injection.screen import instruction_findings, name_findings, screen_arguments, texts_in

SUBMIT_PROPOSAL = "submit_proposal"
ABSTAIN = "abstain"
_TIER_ORDER = list(RiskTier)


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class CitationInput(_Answer):
    kind: Literal["signal", "graph_path", "memory_hit"]
    ref: str = Field(min_length=1, max_length=1000, description="signal_id, graph path or memory doc_id, "
                                                                "exactly as it appeared")


class ProposalSubmission(_Answer):
    """What the model fills to propose one action."""

    action_type: ActionType
    arguments: dict[str, Any] = Field(description="The action type's arguments, exactly per its schema.")
    rationale: str = Field(min_length=10, max_length=4000)
    evidence: list[CitationInput] = Field(min_length=1, max_length=30)
    confidence: float = Field(ge=0.0, le=1.0)
    expected_effect: str = Field(min_length=3, max_length=1000)
    cost_estimate_usd: float = Field(0.0, ge=0.0, le=1_000_000)
    risk_tier: RiskTier | None = Field(None, description="Optional; never below the action type's floor.")


class AbstainRequest(_Answer):
    reason: str = Field(min_length=3, max_length=2000)
    uncertain: bool = Field(False, description="True when a more capable reviewer could decide.")
    signal_ids: list[str] = Field(default_factory=list, max_length=100,
                                  description="The signals you abstain on; empty means all of them.")


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema


def answer_tool_specs() -> list[dict[str, Any]]:
    """The Converse ``toolSpec`` of the two answer tools."""
    return [
        {"toolSpec": {"name": SUBMIT_PROPOSAL, "description": (
            "Propose one action for the account. It is validated, then checked by policy and, where "
            "policy says so, by a human; nothing runs because you proposed it."),
            "inputSchema": {"json": _schema(ProposalSubmission)}}},
        {"toolSpec": {"name": ABSTAIN, "description": (
            "Decline to propose, with the reason (conflicting or thin evidence, nothing to do)."),
            "inputSchema": {"json": _schema(AbstainRequest)}}},
    ]


def action_catalog() -> str:
    """Each action type's argument schema, for the system prompt (kept in step with decisioning.actions)."""
    lines = []
    for kind, model in ACTION_ARGUMENT_MODELS.items():
        schema = json.dumps(_schema(model), separators=(",", ":"), sort_keys=True)
        lines.append(f"- {kind.value} (risk floor {ACTION_RISK_FLOOR[kind].value}): {schema}")
    return "\n".join(lines)


def _screen(arguments: dict[str, Any], untrusted: dict[str, list[str]]) -> dict[str, list[str]]:
    held = screen_arguments(arguments, untrusted)
    for where, text in texts_in(arguments):
        if where not in held and (found := instruction_findings(text)):
            held[where] = found
    return held


# Arguments that name people: the model may only name people it was shown (the owner, the contacts).
PERSON_ARGUMENTS = ("recipient", "owner", "exec_sponsor", "attendees")
_NAME_FIELDS = ("name", "title")


@dataclass
class KnownEvidence:
    """What the model has been shown: only these may be cited or named. Grows with every tool result."""

    decision_signals: dict[str, str]  # the signals decided on: id -> narrative
    owner: str | None = None  # the account owner's email: notify.owner goes there and nowhere else
    signals: dict[str, str] = field(default_factory=dict)  # every signal seen (tools included)
    paths: set[str] = field(default_factory=set)
    memory: dict[str, str] = field(default_factory=dict)  # doc id -> citation detail
    people: set[str] = field(default_factory=set)  # owner emails and contact ids, lower case
    # CRM-sourced text that reads like instructions -> what was found; arguments quoting it are held.
    untrusted: dict[str, list[str]] = field(default_factory=dict)

    def distrust(self, value: Any) -> None:
        for where, text in texts_in(value):
            is_name = where.rsplit(".", 1)[-1] in _NAME_FIELDS
            if found := name_findings(text) if is_name else instruction_findings(text):
                self.untrusted[text] = found

    def learn(self, tool: str, result: dict[str, Any]) -> None:
        self.distrust(result)
        if tool == "signals.list_recent":
            for s in result.get("signals", []):
                self.signals.setdefault(str(s.get("signal_id")), str(s.get("narrative", "")))
        elif tool == "graph.account_context":
            self.paths.update(str(p) for p in result.get("paths", []))
            self.people.update(str(c.get("contact_id", "")).lower() for c in result.get("contacts", []))
        elif tool == "memory.search":
            for h in result.get("hits", []):
                self.memory.setdefault(str(h.get("doc_id")), f"{h.get('source')}, score "
                                       f"{float(h.get('score') or 0):.2f}: {str(h.get('snippet', ''))[:160]}")


@dataclass(frozen=True)
class AcceptedSubmission:
    submission: ProposalSubmission
    arguments: dict[str, Any]
    citations: list[Citation]
    signal_ids: list[str]  # the decision's signals it answers
    risk_tier: RiskTier
    held_for_review: dict[str, list[str]]  # argument path -> instruction-like patterns found


class SubmissionError(ValueError):
    """A submission the model must correct; ``problems`` are sent back to it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def parse_input(raw: Any) -> dict[str, Any]:
    """A toolUse ``input``: a JSON object, or (from some models) a string holding one."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SubmissionError([f"the tool input is not valid JSON ({exc.msg} at char {exc.pos}); send "
                                   "a JSON object"]) from None
    if not isinstance(raw, dict):
        raise SubmissionError([f"the tool input must be a JSON object, got {type(raw).__name__}"])
    return raw


def _problems(exc: ValidationError) -> list[str]:
    return [f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()]


def _people_problems(action_type: ActionType, arguments: dict[str, Any], known: KnownEvidence) -> list[str]:
    if action_type == ActionType.notify_owner and arguments:
        if not known.owner:
            return ["the account owner is unknown, so there is no one to notify: abstain instead"]
        if str(arguments.get("recipient", "")).lower() != known.owner.lower():
            return [f"notify.owner goes to the account owner {known.owner} only"]
        return []
    named = [arguments.get(key) for key in PERSON_ARGUMENTS if arguments.get(key)]
    people = [str(p) for value in named for p in (value if isinstance(value, list) else [value])]
    allowed = known.people | ({known.owner.lower()} if known.owner else set())
    return [f"{person!r} is not a person of this account (the owner or a contact id you were shown)"
            for person in people if person.lower() not in allowed]


def check_submission(raw: Any, known: KnownEvidence) -> AcceptedSubmission:
    """Validate one ``submit_proposal`` input; raise SubmissionError naming every problem."""
    try:
        submission = ProposalSubmission.model_validate(parse_input(raw))
    except ValidationError as exc:
        raise SubmissionError(_problems(exc)) from None
    problems: list[str] = []
    arguments: dict[str, Any] = {}
    try:
        arguments = validate_arguments(submission.action_type, submission.arguments)
    except ValueError as exc:
        problems.append(str(exc))
    citations: list[Citation] = []
    for cited in dict.fromkeys(submission.evidence):
        if cited.kind == "signal" and cited.ref in known.signals:
            citations.append(Citation(kind="signal", ref=cited.ref, detail=known.signals[cited.ref] or None))
        elif cited.kind == "graph_path" and cited.ref in known.paths:
            citations.append(Citation(kind="graph_path", ref=cited.ref))
        elif cited.kind == "memory_hit" and cited.ref in known.memory:
            citations.append(Citation(kind="memory_hit", ref=cited.ref, detail=known.memory[cited.ref]))
        else:
            problems.append(f"evidence cites {cited.kind} {cited.ref!r}, which was not in the situation or "
                            "any tool result: cite only ids and paths exactly as shown")
    problems += _people_problems(submission.action_type, arguments, known)
    answered = [c.ref for c in citations if c.kind == "signal" and c.ref in known.decision_signals]
    if not answered:
        problems.append("evidence must cite at least one signal_id of the signals being decided on: "
                        + ", ".join(sorted(known.decision_signals)))
    if problems:
        raise SubmissionError(problems)
    floor = ACTION_RISK_FLOOR[submission.action_type]
    tier = max(submission.risk_tier or floor, floor, key=_TIER_ORDER.index)
    held = _screen(arguments, known.untrusted)
    if held:  # CRM text that reads like instructions never runs unreviewed (L1 is never automatic)
        tier = max(tier, RiskTier.L1, key=_TIER_ORDER.index)
    return AcceptedSubmission(submission, arguments, citations, sorted(set(answered)), tier, held)
