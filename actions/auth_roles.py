"""Reviewer roles and what each may do.

viewer reads; reviewer also rejects, edits and asks for information (and approves L0); approver:L1..L3
also approves proposals up to that risk tier; admin approves every tier. Roles never widen tenant
membership: every role applies only inside the tenants the identity lists."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from decisioning.contracts import RiskTier


class Role(StrEnum):
    viewer = "viewer"
    reviewer = "reviewer"
    approver_l1 = "approver:L1"
    approver_l2 = "approver:L2"
    approver_l3 = "approver:L3"
    admin = "admin"


TIER_ORDER = [RiskTier.L0, RiskTier.L1, RiskTier.L2, RiskTier.L3]
_CEILING = {Role.reviewer: RiskTier.L0, Role.approver_l1: RiskTier.L1, Role.approver_l2: RiskTier.L2,
            Role.approver_l3: RiskTier.L3, Role.admin: RiskTier.L3}
_APPROVER = re.compile(r"^approvers?[:_\-\s]?l([1-3])$")


def parse_role(name: str, aliases: Mapping[str, str] | None = None) -> Role | None:
    """A role from a group name: exact (``approver:L2``), relaxed (``approver-l2``, ``Approvers_L2``)
    or through ``aliases`` (IdP group name -> role name). Unknown names give None."""
    name = (aliases or {}).get(name, name).strip()
    lowered = name.lower()
    for role in Role:
        if lowered in {role.value.lower(), role.value.lower() + "s"}:
            return role
    match = _APPROVER.match(lowered)
    return Role(f"approver:L{match.group(1)}") if match else None


def parse_roles(names: Iterable[str], aliases: Mapping[str, str] | None = None) -> frozenset[Role]:
    return frozenset(role for name in names if (role := parse_role(name, aliases)) is not None)


def approval_ceiling(roles: Iterable[Role]) -> RiskTier | None:
    """The highest risk tier these roles may approve, or None when they may approve nothing."""
    tiers = [_CEILING[role] for role in roles if role in _CEILING]
    return max(tiers, key=TIER_ORDER.index) if tiers else None


def may_approve(roles: Iterable[Role], tier: RiskTier) -> bool:
    ceiling = approval_ceiling(roles)
    return ceiling is not None and TIER_ORDER.index(tier) <= TIER_ORDER.index(ceiling)


def may_decide(roles: Iterable[Role]) -> bool:
    """Reject, edit arguments and request information: every role above viewer."""
    return any(role is not Role.viewer for role in roles)
