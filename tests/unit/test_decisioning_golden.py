"""Golden tasks: whole situations through the playbook agent and the shipped Cedar policies.

Each row is what a revenue team would expect revloop to do; a change in behaviour must change a row."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from decisioning.contracts import Abstention, ActionType, PolicyOutcome, Proposal, RiskTier
from decisioning.playbook import PlaybookAgent
from decisioning.policy import CedarPolicyEngine
from perception.contracts import Severity, Signal, SignalKind
from tests.unit.test_decisioning_fixtures import (
    fixed_clock,
    make_context,
    make_hit,
    make_proposal,
    make_signal,
    update_args,
)
from tests.unit.test_decisioning_playbook import signal_of
from world_model.contracts import AccountContext

A = ActionType
Out = PolicyOutcome


@dataclass(frozen=True)
class Golden:
    name: str
    signals: list[Signal]
    context: AccountContext
    expected: list[tuple[ActionType, PolicyOutcome]]
    abstain_reasons: list[str] = field(default_factory=list)  # substrings, one per expected abstention
    paused: bool = False


GOLDEN = [
    Golden("champion leaves a healthy account",
           [make_signal(SignalKind.champion_departed, severity=Severity.high)], make_context(),
           [(A.crm_create_task, Out.needs_approval), (A.notify_owner, Out.automatic)]),
    Golden("deal slips a little",
           [make_signal(SignalKind.deal_slipped, severity=Severity.low).model_copy(update={"heat": 20.0})],
           make_context(),
           [(A.notify_owner, Out.automatic)]),
    Golden("deal slips while automation is paused",
           [make_signal(SignalKind.deal_slipped)], make_context(),
           [(A.notify_owner, Out.needs_approval)], paused=True),
    Golden("usage drops",
           [make_signal(SignalKind.usage_drop, severity=Severity.high)], make_context(),
           [(A.crm_create_task, Out.needs_approval)]),
    Golden("opportunity moves backwards",
           [make_signal(SignalKind.stage_regression)], make_context(),
           [(A.crm_update_field, Out.needs_approval)]),
    Golden("expansion intent on a known account",
           [make_signal(SignalKind.expansion_intent)], make_context(),
           [(A.draft_meeting_brief, Out.automatic)]),
    Golden("a deal goes quiet",
           [signal_of(SignalKind.no_activity, severity=Severity.high)], make_context(),
           [(A.crm_create_task, Out.needs_approval)]),
    Golden("the customer stops replying",
           [signal_of(SignalKind.ghosted)], make_context(),
           [(A.crm_create_task, Out.needs_approval)]),
    Golden("a late deal without its economic buyer",
           [signal_of(SignalKind.no_economic_buyer)], make_context(),
           [(A.crm_create_task, Out.needs_approval)]),
    Golden("seats are cut",
           [signal_of(SignalKind.seat_contraction, severity=Severity.high)], make_context(),
           [(A.crm_create_task, Out.needs_approval), (A.notify_owner, Out.automatic)]),
    Golden("a deal stalls in its stage",
           [signal_of(SignalKind.stalled_in_stage)], make_context(),
           [(A.notify_owner, Out.automatic)]),
    Golden("a deal is cut down while automation is paused",
           [signal_of(SignalKind.amount_reduced)], make_context(),
           [(A.notify_owner, Out.needs_approval)], paused=True),
    Golden("renewal approaches",
           [signal_of(SignalKind.renewal_approaching)], make_context(),
           [(A.draft_meeting_brief, Out.automatic), (A.schedule_renewal_review, Out.needs_approval)]),
    Golden("single-threaded deal with the owner unknown: the task still goes for approval",
           [signal_of(SignalKind.too_few_contacts)], make_context(owner=None),
           [(A.crm_create_task, Out.needs_approval)]),
    Golden("must abstain: account unknown to the graph",
           [make_signal(SignalKind.deal_slipped)], make_context(name=None),
           [], ["unknown to the situation graph"]),
    Golden("must abstain: expansion and usage drop at once",
           [make_signal(SignalKind.expansion_intent), make_signal(SignalKind.usage_drop)], make_context(),
           [], ["conflicting evidence"]),
    Golden("must abstain on the notification: no owner",
           [make_signal(SignalKind.champion_departed)], make_context(owner=None),
           [(A.crm_create_task, Out.needs_approval)], ["owner to notify is unknown"]),
]


@pytest.fixture(scope="module")
def engine() -> CedarPolicyEngine:
    return CedarPolicyEngine(clock=fixed_clock)


@pytest.mark.parametrize("golden", GOLDEN, ids=lambda g: g.name)
def test_golden_situation(engine: CedarPolicyEngine, golden: Golden) -> None:
    results = PlaybookAgent(clock=fixed_clock).decide(golden.signals, golden.context, [make_hit()])
    made = [r for r in results if isinstance(r, Proposal)]
    held_back = [r for r in results if isinstance(r, Abstention)]

    decisions = [engine.classify(p, automation_paused=golden.paused) for p in made]
    assert [(p.action_type, d.outcome) for p, d in zip(made, decisions, strict=True)] == golden.expected
    assert all(d.errors == [] for d in decisions)
    assert len(held_back) == len(golden.abstain_reasons)
    for abstention, reason in zip(held_back, golden.abstain_reasons, strict=True):
        assert reason in abstention.reason
    cited = {c.ref for p in made for c in p.evidence if c.kind == "signal"}
    held = {sid for a in held_back for sid in a.signal_ids}
    assert cited | held == {s.signal_id for s in golden.signals}  # every signal is answered for


@pytest.mark.parametrize("field_name", ["owner", "OwnerId", "amount", "stage", "close_date"])
def test_must_forbid_a_crafted_write_to_a_protected_field(engine: CedarPolicyEngine, field_name: str) -> None:
    crafted = make_proposal(ActionType.crm_update_field, update_args(field_name, "mallory@evil.example"),
                            risk_tier=RiskTier.L2, confidence=0.99)
    decision = engine.classify(crafted)

    assert decision.outcome == PolicyOutcome.forbidden
    assert decision.reasons == ["no-update-of-protected-fields"] and decision.errors == []


def test_must_forbid_an_l3_proposal_even_when_paused_or_confident(engine: CedarPolicyEngine) -> None:
    crafted = make_proposal(ActionType.notify_owner, {"recipient": "ana@acme.example", "subject": "s",
                                                      "message": "m"}, risk_tier=RiskTier.L3, confidence=1.0)
    for paused in (False, True):
        assert engine.classify(crafted, automation_paused=paused).outcome == PolicyOutcome.forbidden
