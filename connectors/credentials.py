"""CRM credentials from an env-like mapping or a secrets directory, for the wiring layer to call.

Connectors never read the environment: the composition root calls these functions with the mapping
it chooses (usually ``os.environ``) and/or a secrets directory holding one file per variable (the
Docker/Kubernetes secrets layout: ``<dir>/REVLOOP_HUBSPOT_TOKEN`` containing the token). A value in
the mapping wins over a file. Per-tenant values use the suffix ``__<TENANT>`` (upper case, other
characters as ``_``) and win over the unsuffixed name. Values never appear in reprs or errors."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

HUBSPOT_TOKEN = "REVLOOP_HUBSPOT_TOKEN"
SALESFORCE_INSTANCE_URL = "REVLOOP_SALESFORCE_INSTANCE_URL"
SALESFORCE_SESSION_ID = "REVLOOP_SALESFORCE_SESSION_ID"
SALESFORCE_USERNAME = "REVLOOP_SALESFORCE_USERNAME"
SALESFORCE_PASSWORD = "REVLOOP_SALESFORCE_PASSWORD"
SALESFORCE_SECURITY_TOKEN = "REVLOOP_SALESFORCE_SECURITY_TOKEN"
SALESFORCE_DOMAIN = "REVLOOP_SALESFORCE_DOMAIN"  # "login" (production), "test" (sandbox) or My Domain


class MissingCredentials(ValueError):
    """A required credential is in neither the given mapping nor the secrets directory."""


@dataclass(frozen=True)
class HubSpotCredentials:
    access_token: str = field(repr=False)  # a private app's access token (or an OAuth access token)


@dataclass(frozen=True)
class SalesforceCredentials:
    """Either a session (instance_url + session_id) or a login (username + password + security_token)."""

    instance_url: str | None = None
    session_id: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    domain: str | None = None


def _tenant_suffix(tenant: str) -> str:
    return "__" + re.sub(r"[^A-Z0-9]", "_", tenant.upper())


def _lookup(name: str, env: Mapping[str, str] | None, secrets_dir: Path | None,
            tenant: str | None) -> str | None:
    names = [name + _tenant_suffix(tenant), name] if tenant else [name]
    for candidate in names:
        if env is not None and env.get(candidate, "").strip():
            return env[candidate].strip()
        if secrets_dir is not None:
            path = secrets_dir / candidate
            if path.is_file():
                value = path.read_text(encoding="utf-8").strip()
                if value:
                    return value
    return None


def read_values(names: Sequence[str], env: Mapping[str, str] | None = None,
                secrets_dir: Path | None = None, tenant: str | None = None) -> dict[str, str]:
    """The values found for ``names`` (absent or blank ones are left out)."""
    found = {}
    for name in names:
        value = _lookup(name, env, secrets_dir, tenant)
        if value is not None:
            found[name] = value
    return found


def _where(names: Sequence[str], secrets_dir: Path | None, tenant: str | None) -> str:
    shown = [f"{n}{_tenant_suffix(tenant)} or {n}" if tenant else n for n in names]
    place = "the environment" + (f" or as files in {secrets_dir}" if secrets_dir is not None else "")
    return f"{', '.join(shown)} in {place}"


def hubspot_credentials(env: Mapping[str, str] | None = None, secrets_dir: Path | None = None,
                        tenant: str | None = None) -> HubSpotCredentials:
    values = read_values([HUBSPOT_TOKEN], env, secrets_dir, tenant)
    if HUBSPOT_TOKEN not in values:
        raise MissingCredentials(
            f"HubSpot access token missing: set {_where([HUBSPOT_TOKEN], secrets_dir, tenant)} "
            "(a private app token with crm.objects.*.read and crm.schemas.deals.read scopes)")
    return HubSpotCredentials(access_token=values[HUBSPOT_TOKEN])


_SESSION = (SALESFORCE_INSTANCE_URL, SALESFORCE_SESSION_ID)
_LOGIN = (SALESFORCE_USERNAME, SALESFORCE_PASSWORD, SALESFORCE_SECURITY_TOKEN)


def salesforce_credentials(env: Mapping[str, str] | None = None, secrets_dir: Path | None = None,
                           tenant: str | None = None) -> SalesforceCredentials:
    values = read_values([*_SESSION, *_LOGIN, SALESFORCE_DOMAIN], env, secrets_dir, tenant)
    domain = values.get(SALESFORCE_DOMAIN)
    if all(name in values for name in _SESSION):
        return SalesforceCredentials(instance_url=values[SALESFORCE_INSTANCE_URL],
                                     session_id=values[SALESFORCE_SESSION_ID], domain=domain)
    if all(name in values for name in _LOGIN):
        return SalesforceCredentials(username=values[SALESFORCE_USERNAME],
                                     password=values[SALESFORCE_PASSWORD],
                                     security_token=values[SALESFORCE_SECURITY_TOKEN], domain=domain)
    missing_session = [n for n in _SESSION if n not in values]
    missing_login = [n for n in _LOGIN if n not in values]
    raise MissingCredentials(
        "Salesforce credentials incomplete: for a session set "
        f"{_where(missing_session, secrets_dir, tenant)}; or for a login set "
        f"{_where(missing_login, secrets_dir, tenant)}")
