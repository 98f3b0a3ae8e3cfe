"""Tenant-specific constraints, read by the policies as the ``Revloop::Tenant`` entity.

They live in ``tenants.json`` next to the policies (so they are part of the policy version): a
``default`` object and per-tenant overrides under ``tenants``; a tenant's object overrides only the
fields it names. JSON rather than TOML because the package ships ``*.json`` with the policies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from decisioning.contracts import ActionType

TENANTS_FILE = "tenants.json"


def cents(usd: float) -> int:
    """US dollars as whole cents: Cedar has integers (Long) only."""
    return int(round(usd * 100))


def _known_action_types(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    known = {t.value for t in ActionType}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown action types {unknown}; known: {sorted(known)}")
    return sorted(set(values))


class TenantConstraints(BaseModel):
    """What one tenant allows. ``None`` for an action-type list means every known action type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_action_types: list[str] | None = None
    auto_action_types: list[str] | None = None
    min_auto_confidence_pct: int = Field(default=70, ge=0, le=100)
    max_cost_per_action_usd: float = Field(default=100.0, ge=0.0, le=1_000_000.0)

    _check_types = field_validator("allowed_action_types", "auto_action_types")(_known_action_types)

    def entity_attributes(self) -> dict[str, Any]:
        """The ``Revloop::Tenant`` attributes (see revloop.cedarschema)."""
        every = sorted(t.value for t in ActionType)
        return {
            "allowed_action_types": self.allowed_action_types if self.allowed_action_types is not None
            else every,
            "auto_action_types": self.auto_action_types if self.auto_action_types is not None else every,
            "min_auto_confidence_pct": self.min_auto_confidence_pct,
            "max_cost_per_action_cents": cents(self.max_cost_per_action_usd),
        }


class TenantConstraintSet(BaseModel):
    """The parsed ``tenants.json``: defaults plus raw per-tenant overrides (validated on load)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default: dict[str, Any] = Field(default_factory=dict)
    tenants: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def for_tenant(self, tenant: str) -> TenantConstraints:
        return TenantConstraints.model_validate({**self.default, **self.tenants.get(tenant, {})})

    def problems(self) -> list[str]:
        found = []
        for name, overrides in [("default", {}), *self.tenants.items()]:
            try:
                TenantConstraints.model_validate({**self.default, **overrides})
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"]) or "(root)"
                    found.append(f"{TENANTS_FILE}: tenant {name!r}: {where}: {err['msg']}")
        return found


def load_tenant_constraints(directory: Path) -> tuple[TenantConstraintSet, list[str]]:
    """The constraint set of a policy directory and its problems; a missing file means defaults only."""
    path = directory / TENANTS_FILE
    if not path.exists():
        return TenantConstraintSet(), []
    try:
        raw = json.loads(path.read_bytes())
        constraints = TenantConstraintSet.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        return TenantConstraintSet(), [f"{TENANTS_FILE} is not a valid tenant constraint file: {exc}"]
    return constraints, constraints.problems()
