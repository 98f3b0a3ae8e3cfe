"""Must-forbid cases no agent output may get past, whatever it claims. The situations with expected
decisions live in decisioning/golden/tasks.json (tests/unit/test_decisioning_agent_golden.py)."""

from __future__ import annotations

import pytest

from decisioning.contracts import ActionType, PolicyOutcome, RiskTier
from decisioning.policy import CedarPolicyEngine
from tests.unit.test_decisioning_fixtures import fixed_clock, make_proposal, update_args


@pytest.fixture(scope="module")
def engine() -> CedarPolicyEngine:
    return CedarPolicyEngine(clock=fixed_clock)


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
