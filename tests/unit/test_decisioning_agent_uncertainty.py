"""When the playbook agent holds back: conflicting kinds, thin evidence, entities missing from the graph."""

from __future__ import annotations

import pytest

from decisioning.contracts import ActionType
from decisioning.uncertainty import CONFLICTING_KINDS, THIN_EVIDENCE_HEAT
from perception.contracts import Evidence, Severity, Signal, SignalKind
from tests.unit.test_decisioning_fixtures import make_context, make_signal
from tests.unit.test_decisioning_playbook import abstentions, agent, proposals, signal_of


@pytest.mark.parametrize("pair", list(CONFLICTING_KINDS), ids=lambda p: "+".join(sorted(p)))
def test_each_conflicting_pair_abstains_on_both_and_the_rest_proceed(pair: frozenset[SignalKind]) -> None:
    conflicting = [signal_of(kind) for kind in sorted(pair)]
    bystander = make_signal(SignalKind.deal_slipped)
    results = agent().decide([*conflicting, bystander], make_context(), [])

    assert [p.action_type for p in proposals(results)] == [ActionType.notify_owner]
    (held,) = abstentions(results)
    assert sorted(held.signal_ids) == sorted(s.signal_id for s in conflicting)
    assert held.reason.startswith("conflicting evidence: ")
    assert all(kind.value in held.reason for kind in pair)


def test_amount_cut_during_expansion_intent_is_a_conflict() -> None:
    results = agent().decide([make_signal(SignalKind.expansion_intent), signal_of(SignalKind.amount_reduced)],
                             make_context(), [])
    assert proposals(results) == []
    assert "amount_reduced and expansion_intent" in abstentions(results)[0].reason


def quiet(heat: float = 5.0, severity: Severity = Severity.low) -> Signal:
    return make_signal(SignalKind.deal_slipped, severity=severity).model_copy(update={"heat": heat})


def test_one_low_severity_low_heat_signal_alone_is_thin_evidence() -> None:
    signal = quiet()
    results = agent().decide([signal], make_context(), [])

    assert proposals(results) == []
    (held,) = abstentions(results)
    assert held.signal_ids == [signal.signal_id]
    assert held.reason.startswith("thin evidence: a single low-severity deal_slipped signal (heat 5 < 15)")


@pytest.mark.parametrize("case", ["hot enough", "medium severity", "a second signal", "recent in the graph"])
def test_corroborated_or_weightier_signals_are_acted_on(case: str) -> None:
    signals = [quiet(heat=THIN_EVIDENCE_HEAT) if case == "hot enough" else
               quiet(severity=Severity.medium) if case == "medium severity" else quiet()]
    context = make_context()
    if case == "a second signal":
        signals.append(make_signal(SignalKind.deal_slipped, entity_id="opp_9", severity=Severity.low))
    if case == "recent in the graph":
        context = context.model_copy(update={"recent_signal_ids": ["sig_earlier", signals[0].signal_id]})
    results = agent().decide(signals, context, [])

    assert [p.action_type for p in proposals(results)] == [ActionType.notify_owner]
    assert abstentions(results) == []


def test_the_thin_evidence_threshold_is_configurable() -> None:
    assert proposals(agent(thin_evidence_heat=0.0).decide([quiet()], make_context(), []))


def test_a_departed_champion_unknown_to_the_graph_gets_no_task_but_the_owner_hears() -> None:
    unknown = make_signal(SignalKind.champion_departed, entity_id="con_99")
    results = agent().decide([unknown], make_context(), [])

    assert [p.action_type for p in proposals(results)] == [ActionType.notify_owner]
    (held,) = abstentions(results)
    assert held.reason.startswith("crm.create_task not proposed: contact con_99 is not among the account's")


def test_a_renewal_without_its_date_gets_the_brief_but_no_meeting() -> None:
    undated = signal_of(SignalKind.renewal_approaching).model_copy(update={"evidence": [
        Evidence(object="accounts", entity_id="acc_1", field="arr", after=1)]})
    results = agent().decide([undated], make_context(), [])

    assert [p.action_type for p in proposals(results)] == [ActionType.draft_meeting_brief]
    assert "renewal date is not in the signal's evidence" in abstentions(results)[0].reason


def test_a_renewal_with_nobody_to_invite_gets_no_meeting() -> None:
    context = make_context(owner=None).model_copy(update={"champions": []})
    results = agent().decide([signal_of(SignalKind.renewal_approaching)], context, [])

    assert ActionType.schedule_renewal_review not in [p.action_type for p in proposals(results)]
    assert "nobody to invite" in abstentions(results)[0].reason
