"""Tenant ids as the world model accepts them: they become parts of graph keys and vector-table names."""

from __future__ import annotations

import re

# Lower case only: table names must stay distinct on case-insensitive filesystems, and '|' (the graph
# key separator), '/', '.' and spaces can never appear, so a tenant id cannot address another's data.
_TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class InvalidTenantError(ValueError):
    """A tenant id that could be confused with another tenant's namespace."""


def validate_tenant(tenant: str) -> str:
    """Return ``tenant`` unchanged if it is a safe namespace name, else raise :class:`InvalidTenantError`."""
    if not isinstance(tenant, str) or not _TENANT.fullmatch(tenant):
        raise InvalidTenantError(
            f"invalid tenant id {tenant!r}: use 1-63 characters of a-z, 0-9, '_' or '-', "
            "starting with a letter or digit"
        )
    return tenant
