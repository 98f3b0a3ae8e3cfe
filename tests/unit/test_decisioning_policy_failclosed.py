"""The policy engine fails closed: whatever goes wrong, the outcome is forbidden and the error is recorded."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

import cedarpy
import pytest

from decisioning.contracts import ActionType, PolicyOutcome
from decisioning.policy import DEFAULT_POLICY_DIR, CedarPolicyEngine
from decisioning.policy_context import ControlState, cedar_context
from decisioning.policy_deadline import EvaluationTimeoutError, call_with_deadline
from decisioning.policy_request import entities, request, resource_attributes
from tests.unit.test_decisioning_fixtures import NOTIFY_ARGS, make_proposal, update_args

SURE_THING = make_proposal(ActionType.notify_owner, NOTIFY_ARGS, confidence=0.95)  # automatic normally


@pytest.fixture()
def policy_dir(tmp_path: Path) -> Path:
    target = tmp_path / "policies"
    shutil.copytree(DEFAULT_POLICY_DIR, target)
    return target


def assert_forbidden_with_error(engine: CedarPolicyEngine, *needles: str) -> None:
    decision = engine.classify(SURE_THING)
    assert decision.outcome == PolicyOutcome.forbidden
    assert decision.errors, "a fail-closed denial must carry its error"
    joined = " ".join(decision.errors)
    for needle in needles:
        assert needle in joined


def test_the_sure_thing_is_automatic_with_the_shipped_policies() -> None:
    assert CedarPolicyEngine().classify(SURE_THING).outcome == PolicyOutcome.automatic


def test_malformed_policy_file_forbids_everything(policy_dir: Path) -> None:
    (policy_dir / "zz_broken.cedar").write_text('permit (principal, action == Revloop::Action::"x"')
    engine = CedarPolicyEngine(policy_dir)

    assert_forbidden_with_error(engine, "zz_broken.cedar")
    assert any("zz_broken.cedar" in problem for problem in engine.validate())


def test_policy_that_fails_schema_validation_forbids_everything(policy_dir: Path) -> None:
    (policy_dir / "typo.cedar").write_text(
        '@id("typo")\npermit (principal, action, resource is Revloop::Proposal)\n'
        'when { resource.confidense_pct > 1 };\n')
    engine = CedarPolicyEngine(policy_dir)

    assert_forbidden_with_error(engine, "typo", "confidense_pct")


def test_attribute_the_engine_does_not_supply_forbids(policy_dir: Path) -> None:
    schema = policy_dir / "revloop.cedarschema"
    extended = schema.read_text().replace("    field: String,", "    field: String,\n    region: String,")
    schema.write_text(extended)
    (policy_dir / "region.cedar").write_text(
        '@id("eu-only")\nforbid (principal, action, resource is Revloop::Proposal)\n'
        'when { resource.region != "eu" };\n')
    engine = CedarPolicyEngine(policy_dir)
    assert engine.validate() == []  # the policy set itself is sound: the request lacks the attribute

    assert_forbidden_with_error(engine, "region")


def test_missing_context_attribute_forbids(policy_dir: Path) -> None:
    schema = policy_dir / "revloop.cedarschema"
    schema.write_text(schema.read_text().replace("      automation_paused: Bool,",
                                                 "      automation_paused: Bool,\n      budget_left: Long,"))
    assert_forbidden_with_error(CedarPolicyEngine(policy_dir), "budget_left")


def test_a_forbid_that_errors_at_runtime_does_not_let_the_permit_through(policy_dir: Path) -> None:
    # Cedar skips a policy whose evaluation errors, so this forbid alone would leave the permit standing.
    (policy_dir / "overflow.cedar").write_text(
        '@id("overflowing-guard")\nforbid (principal, action, resource is Revloop::Proposal)\n'
        'when { resource.confidence_pct * 9223372036854775807 > 0 };\n')
    engine = CedarPolicyEngine(policy_dir)
    assert engine.validate() == []
    attributes = resource_attributes(SURE_THING, SURE_THING.arguments)
    tenant = engine.policy_set.tenants.for_tenant("acme").entity_attributes()
    raw = cedarpy.is_authorized(request(SURE_THING, "auto_execute", cedar_context(ControlState())),
                                engine.policy_set.policies, entities(SURE_THING, attributes, tenant))
    assert raw.allowed and raw.diagnostics.errors  # what Cedar alone would do

    assert_forbidden_with_error(engine, "overflowing-guard", "overflow")


def test_missing_directory_or_schema_forbids(tmp_path: Path, policy_dir: Path) -> None:
    assert_forbidden_with_error(CedarPolicyEngine(tmp_path / "nowhere"), "cedarschema")
    (policy_dir / "revloop.cedarschema").unlink()
    assert_forbidden_with_error(CedarPolicyEngine(policy_dir), "exactly one *.cedarschema")


def test_malformed_schema_forbids(policy_dir: Path) -> None:
    (policy_dir / "revloop.cedarschema").write_text("namespace Revloop { entity Agent")
    assert_forbidden_with_error(CedarPolicyEngine(policy_dir), "revloop.cedarschema")


def test_policy_without_id_is_a_problem(policy_dir: Path) -> None:
    (policy_dir / "anonymous.cedar").write_text(
        "forbid (principal, action, resource is Revloop::Proposal) when { resource.risk_tier > 5 };\n")
    engine = CedarPolicyEngine(policy_dir)

    assert any("no @id" in problem for problem in engine.validate())
    assert_forbidden_with_error(engine, "no @id")


def test_exception_inside_cedar_is_contained(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = CedarPolicyEngine()

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("engine crashed")

    monkeypatch.setattr(cedarpy, "is_authorized_batch", explode)
    assert_forbidden_with_error(engine, "RuntimeError", "engine crashed")


@pytest.mark.parametrize("arguments", [
    {**NOTIFY_ARGS, "cc": "everyone@acme.example"},
    {**NOTIFY_ARGS, "recipient": "not-an-email"},
    {"channel": "owner"},
])
def test_proposal_with_arguments_outside_their_schema_is_forbidden(arguments: dict[str, object]) -> None:
    crafted = make_proposal(ActionType.notify_owner, arguments, confidence=0.95)
    decision = CedarPolicyEngine().classify(crafted)

    assert decision.outcome == PolicyOutcome.forbidden
    assert any("invalid arguments for notify.owner" in error for error in decision.errors)


def test_update_field_on_unicode_lookalike_owner_is_rejected() -> None:
    crafted = make_proposal(ActionType.crm_update_field, update_args("own\u0435r"))  # Cyrillic e
    decision = CedarPolicyEngine().classify(crafted)

    assert decision.outcome == PolicyOutcome.forbidden and decision.errors


def test_an_evaluation_past_its_deadline_is_denied_with_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = CedarPolicyEngine(timeout_s=0.05)
    real = cedarpy.is_authorized_batch

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(0.5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cedarpy, "is_authorized_batch", slow)
    started = time.monotonic()
    assert_forbidden_with_error(engine, "deadline", "denied")
    assert time.monotonic() - started < 0.5 * 2  # the caller did not wait for Cedar twice


def test_a_late_answer_counts_as_a_timeout() -> None:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5.0)  # the busy call keeps the GIL to itself, as Cedar's evaluation does
    try:
        with pytest.raises(EvaluationTimeoutError, match="answered after"):
            call_with_deadline(lambda: _busy(0.08), timeout_s=0.05)
    finally:
        sys.setswitchinterval(interval)


def _busy(seconds: float) -> int:
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


def test_a_hung_engine_does_not_block_the_next_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = CedarPolicyEngine(timeout_s=0.05)
    real = cedarpy.is_authorized_batch
    hang = threading.Event()

    def first_hangs(*args: object, **kwargs: object) -> object:
        if not hang.is_set():
            hang.set()
            time.sleep(5)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cedarpy, "is_authorized_batch", first_hangs)
    assert engine.classify(SURE_THING).outcome == PolicyOutcome.forbidden
    assert engine.classify(SURE_THING).outcome == PolicyOutcome.automatic


@pytest.mark.parametrize("content, needle", [
    ("{not json", "not a valid tenant constraint file"),
    ('{"default": {"min_auto_confidence_pct": 140}}', "min_auto_confidence_pct"),
    ('{"tenants": {"acme": {"allowed_action_types": ["crm.delete_everything"]}}}', "unknown action types"),
    ('{"tenants": {"acme": {"max_auto_spend": 5}}}', "max_auto_spend"),
])
def test_a_broken_tenant_constraint_file_forbids(policy_dir: Path, content: str, needle: str) -> None:
    (policy_dir / "tenants.json").write_text(content)
    engine = CedarPolicyEngine(policy_dir)

    assert any(needle in problem for problem in engine.validate())
    assert_forbidden_with_error(engine, "tenants.json", needle)


def test_a_context_that_lacks_an_attribute_the_schema_requires_forbids() -> None:
    evaluation = CedarPolicyEngine().evaluate(SURE_THING, context={"killed": False, "actions_today": 0,
                                                                    "spend_today_cents": 0})
    assert evaluation.decision.outcome == PolicyOutcome.forbidden
    assert any("automation_paused" in error for error in evaluation.decision.errors)
