"""Reviewer roles: names the identity provider may use, and what each role may approve."""

from __future__ import annotations

import pytest

from actions.auth import Reviewer
from actions.auth_roles import Role, approval_ceiling, may_approve, may_decide, parse_role, parse_roles
from decisioning.contracts import RiskTier


@pytest.mark.parametrize(("name", "role"), [
    ("viewer", Role.viewer), ("Reviewers", Role.reviewer), ("approver:L2", Role.approver_l2),
    ("approver-l1", Role.approver_l1), ("Approvers_L3", Role.approver_l3), ("admin", Role.admin),
    ("approver-l4", None), ("superuser", None), ("", None),
])
def test_group_names_map_to_roles(name: str, role: Role | None) -> None:
    assert parse_role(name) is role


def test_aliases_map_the_identity_providers_groups() -> None:
    aliases = {"revloop-finance-approvers": "approver:L3"}
    assert parse_roles(["revloop-finance-approvers", "other"], aliases) == {Role.approver_l3}


@pytest.mark.parametrize(("roles", "allowed"), [
    ({Role.viewer}, []),
    ({Role.reviewer}, [RiskTier.L0]),
    ({Role.approver_l1}, [RiskTier.L0, RiskTier.L1]),
    ({Role.viewer, Role.approver_l2}, [RiskTier.L0, RiskTier.L1, RiskTier.L2]),
    ({Role.approver_l3}, list(RiskTier)),
    ({Role.admin}, list(RiskTier)),
])
def test_approvers_approve_up_to_their_tier(roles: set[Role], allowed: list[RiskTier]) -> None:
    assert [tier for tier in RiskTier if may_approve(roles, tier)] == allowed
    assert approval_ceiling(roles) == (allowed[-1] if allowed else None)


def test_only_viewers_may_not_decide() -> None:
    assert not may_decide({Role.viewer}) and not may_decide(set())
    assert all(may_decide({role}) for role in Role if role is not Role.viewer)


def test_an_identity_without_roles_reviews_no_tenant() -> None:
    assert not Reviewer("nobody", frozenset({"acme"})).may_review("acme")
    viewer = Reviewer("vic", frozenset({"acme"}), frozenset({Role.viewer}))
    assert viewer.may_review("acme") and not viewer.may_review("globex")
