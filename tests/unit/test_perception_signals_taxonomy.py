"""The taxonomy's contract: kinds and families agree with the demo world, thresholds are configuration,
heat follows its documented formula, and the money-change rules ignore sub-threshold edits."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from connectors.demo import catalog
from connectors.demo.events import CONDITION_KINDS as WORLD_CONDITIONS
from connectors.demo.events import EVENT_KINDS
from perception.contracts import CONDITION_KINDS, Evidence, Severity, Signal, SignalKind
from perception.heat import heat_score
from perception.signals import changes_from_webhook_event, signals_from_changes
from perception.thresholds import SignalThresholds, ThresholdsError

AT = datetime(2026, 2, 1, 10, tzinfo=UTC)
T = SignalThresholds()


def test_world_and_perception_share_kinds_families_and_default_thresholds() -> None:
    assert list(EVENT_KINDS) == [k.value for k in SignalKind]
    assert set(WORLD_CONDITIONS) == {k.value for k in CONDITION_KINDS}
    world = (catalog.NO_ACTIVITY_DAYS, catalog.GHOSTED_DAYS, catalog.GHOSTED_MIN_OUTBOUND,
             catalog.MIN_ACTIVE_CONTACTS, catalog.STALL_DAYS, catalog.RENEWAL_WINDOW_DAYS,
             catalog.CONDITION_COOL_DOWN_DAYS, catalog.LATE_STAGES)
    assert world == (T.no_activity_days, T.ghosted_days, T.ghosted_min_outbound, T.min_active_contacts,
                     T.stall_days, T.renewal_window_days, T.condition_cool_down_days, T.economic_buyer_stages)
    # the world's healthy cadence stays below the thresholds, so it never looks idle or ghosted
    assert catalog.TOUCH_MAX_GAP_DAYS < T.no_activity_days and catalog.REPLY_MAX_GAP_DAYS < T.ghosted_days


def test_signals_stored_before_heat_existed_still_load() -> None:
    payload = {"tenant": "acme", "account_id": "a", "entity_type": "account", "entity_id": "a",
               "kind": "usage_drop", "severity": "high",
               "evidence": [{"object": "usage", "entity_id": "a", "field": "active_users"}],
               "observed_at": AT.isoformat(), "source": "demo", "dedupe_key": "k", "narrative": "n"}
    assert Signal.model_validate(payload).heat == 0.0


def test_thresholds_from_a_mapping_override_defaults_and_name_bad_keys() -> None:
    tuned = SignalThresholds.from_mapping({"no_activity_days": 21, "stall_days": {
        "qualification": 10, "discovery": 20, "proposal": 20, "negotiation": 15}})
    assert tuned.no_activity_days == 21 and tuned.stall_days["negotiation"] == 15
    assert tuned.ghosted_days == T.ghosted_days
    assert SignalThresholds.from_mapping(None) == T
    with pytest.raises(ThresholdsError, match="no_activity_dayz"):
        SignalThresholds.from_mapping({"no_activity_dayz": 3})
    with pytest.raises(ThresholdsError, match="missing"):
        SignalThresholds.from_mapping({"stall_days": {"qualification": 3}})
    with pytest.raises(ThresholdsError, match="open stages"):
        SignalThresholds.from_mapping({"economic_buyer_stages": ["closed_won"]})
    with pytest.raises(ThresholdsError, match="usage_drop_ratio"):
        SignalThresholds.from_mapping({"usage_drop_ratio": 1.5})
    assert issubclass(ThresholdsError, ValueError)


def test_heat_follows_the_documented_formula() -> None:
    # 100 x severity (1.0 / 0.6 / 0.3) x (0.25 + 0.75 x min(1, sqrt(stake / 250k))) x 0.5 ** (age / 14)
    assert heat_score(Severity.high, 250_000, T) == 100.0
    assert heat_score(Severity.high, 1_000_000_000, T) == 100.0
    assert heat_score(Severity.medium, 62_500, T) == pytest.approx(100 * 0.6 * (0.25 + 0.75 * 0.5), abs=0.05)
    assert heat_score(Severity.low, None, T) == 7.5
    old = heat_score(Severity.high, 250_000, T, began_on=date(2026, 1, 1), observed_on=date(2026, 1, 15))
    assert old == 50.0
    assert heat_score(Severity.high, 10_000, T) > heat_score(Severity.medium, 10_000, T)


def _account_event(before: int, after: int) -> list[Signal]:
    return signals_from_changes("acme", "webhook", AT, changes_from_webhook_event("acme", {
        "type": "crm.record.changed", "object": "accounts", "record_id": "a7",
        "changes": {"SeatsLicensed__c": {"before": before, "after": after}}}))


def _amount_event(before: float, after: float, stage: str | None = None) -> list[Signal]:
    changes = {"Amount": {"before": before, "after": after}}
    if stage:
        changes["StageName"] = {"before": "Negotiation/Review", "after": stage}
    return signals_from_changes("acme", "webhook", AT, changes_from_webhook_event("acme", {
        "type": "crm.record.changed", "object": "opportunities", "record_id": "o7", "account_id": "a7",
        "changes": changes}))


def test_seat_contraction_from_ten_percent_and_high_from_thirty() -> None:
    assert _account_event(100, 91) == [] and _account_event(100, 120) == []
    [medium] = _account_event(100, 90)
    assert medium.kind is SignalKind.seat_contraction and medium.severity is Severity.medium
    assert (medium.evidence[0].before, medium.evidence[0].after) == (100, 90)
    assert medium.entity_type == "account" and medium.account_id == "a7" and medium.heat > 0
    [high] = _account_event(100, 70)
    assert high.severity is Severity.high and "30% fewer" in high.narrative


def test_amount_reduced_on_open_deals_from_twenty_percent() -> None:
    assert _amount_event(50_000, 41_000) == []  # an 18 % re-quote is ordinary
    [cut] = _amount_event(50_000, 40_000)
    assert cut.kind is SignalKind.amount_reduced and cut.severity is Severity.medium
    [big] = _amount_event(150_000, 120_000)
    assert big.severity is Severity.high  # a high-value deal
    assert _amount_event(50_000, 10_000, stage="Closed Lost") == []  # a lost deal is not "reduced"


def test_every_kind_has_a_family_and_an_entity() -> None:
    change_kinds = set(SignalKind) - CONDITION_KINDS
    assert {k.value for k in change_kinds} == {
        "usage_drop", "champion_departed", "deal_slipped", "stage_regression", "expansion_intent",
        "seat_contraction", "amount_reduced"}
    evidence = Evidence(object="accounts", entity_id="a", field=None)
    with pytest.raises(ValueError):
        Signal(tenant="t", account_id="a", entity_type="account", entity_id="a", kind=SignalKind.ghosted,
               severity=Severity.low, evidence=[evidence], observed_at=AT, source="s", dedupe_key="k",
               narrative="n", heat=101.0)
