"""Who is reviewing: OIDC/JWT (bearer or the signed-in cookie) and the local development login.

The reviewer's identity always comes from here, never from a request body. Each identity may review
only the tenants it lists; anything of another tenant answers 404, as if it did not exist. What it may
do there follows its roles (actions.auth_roles)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

from actions.auth_oidc import OidcTokenError, OidcVerifier
from actions.auth_roles import Role, approval_ceiling, may_approve, may_decide
from decisioning.contracts import RiskTier

SESSION_COOKIE = "revloop_session"
ID_TOKEN_COOKIE = "revloop_id_token"
FLASH_COOKIE = "revloop_flash"
# A local user configured with tenants only may do everything a reviewer can, at every risk tier.
LOCAL_DEFAULT_ROLES = frozenset({Role.reviewer, Role.approver_l3})


@dataclass(frozen=True)
class Reviewer:
    username: str
    tenants: frozenset[str]
    roles: frozenset[Role] = frozenset()
    via: str = "local"  # "local" or "oidc"

    def may_review(self, tenant: str) -> bool:
        """Tenant membership with at least one role: what every page and endpoint requires."""
        return tenant in self.tenants and bool(self.roles)

    def may_decide(self) -> bool:
        return may_decide(self.roles)

    def may_approve(self, tier: RiskTier) -> bool:
        return may_approve(self.roles, tier)

    @property
    def approval_ceiling(self) -> RiskTier | None:
        return approval_ceiling(self.roles)

    @property
    def role_names(self) -> list[str]:
        return sorted(role.value for role in self.roles)

    @property
    def default_tenant(self) -> str | None:
        return min(self.tenants) if self.tenants else None


@dataclass(frozen=True)
class LocalUser:
    tenants: frozenset[str]
    roles: frozenset[Role] = LOCAL_DEFAULT_ROLES


@dataclass(frozen=True)
class Caller:
    """Who sent a request, whether by bearer token (no CSRF check needed), and why nobody if so."""

    reviewer: Reviewer | None
    by_token: bool = False
    problem: str | None = None


def local_dev_users(tenants: Iterable[str]) -> dict[str, LocalUser]:
    """The local profile's users: one per role to try roles and tenant isolation."""
    every = frozenset(tenants)
    users = {"demo-reviewer": LocalUser(every), "demo-admin": LocalUser(every, frozenset({Role.admin}))}
    for tenant in sorted(every):
        one = frozenset({tenant})
        users[f"{tenant}-viewer"] = LocalUser(one, frozenset({Role.viewer}))
        users[f"{tenant}-reviewer"] = LocalUser(one, frozenset({Role.reviewer, Role.approver_l1}))
        users[f"{tenant}-approver"] = LocalUser(one, frozenset({Role.approver_l3}))
    return users


class ReviewerAuth:
    """Signs and checks local sessions, API tokens, CSRF tokens and flash messages with one secret, and
    accepts OIDC tokens (bearer header or the cookie the sign-in sets) when a verifier is given."""

    def __init__(self, users: Mapping[str, Iterable[str] | LocalUser], secret: str,
                 max_age_seconds: int = 12 * 3600, secure_cookies: bool = False,
                 oidc: OidcVerifier | None = None, local_login: bool = True) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 characters; generate one with "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        if not local_login and oidc is None:
            raise ValueError("with the local login off, configure OIDC: nobody could sign in")
        self._users = {name: spec if isinstance(spec, LocalUser) else LocalUser(frozenset(spec))
                       for name, spec in users.items()} if local_login else {}
        self._signer = URLSafeTimedSerializer(secret)
        self.max_age_seconds = max_age_seconds
        self.secure_cookies = secure_cookies
        self.oidc = oidc
        self.local_login = local_login

    @property
    def usernames(self) -> list[str]:
        return sorted(self._users)

    def reviewer(self, username: str) -> Reviewer | None:
        user = self._users.get(username)
        return Reviewer(username, user.tenants, user.roles) if user is not None else None

    def session_value(self, username: str) -> str:
        return self._signer.dumps({"u": username}, salt="revloop.session")

    def issue_token(self, username: str) -> str:
        """A bearer token for the JSON API, valid for ``max_age_seconds`` (local users)."""
        return self._signer.dumps({"u": username}, salt="revloop.api-token")

    def csrf_token(self, reviewer: Reviewer) -> str:
        return self._signer.dumps(f"{reviewer.via}:{reviewer.username}", salt="revloop.csrf")

    def check_csrf(self, reviewer: Reviewer, token: str | None) -> bool:
        return self._load(token, "revloop.csrf") == f"{reviewer.via}:{reviewer.username}"

    def identify(self, request: Request) -> Caller:
        """The caller of an API request: bearer token first, else the browser session."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return self._from_token(token.strip())
        return self._cookie_caller(request)

    def from_session(self, request: Request) -> Reviewer | None:
        return self._cookie_caller(request).reviewer

    def from_bearer(self, request: Request) -> Reviewer | None:
        caller = self.identify(request)
        return caller.reviewer if caller.by_token else None

    def _cookie_caller(self, request: Request) -> Caller:
        data = self._load(request.cookies.get(SESSION_COOKIE), "revloop.session")
        if isinstance(data, dict) and "u" in data:
            local = self.reviewer(data["u"])
            if local is not None:
                return Caller(local)
        id_token = request.cookies.get(ID_TOKEN_COOKIE)
        if id_token and self.oidc is not None:
            return self._oidc_caller(id_token, by_token=False)
        return Caller(None)

    def _from_token(self, token: str) -> Caller:
        data = self._load(token, "revloop.api-token")
        if isinstance(data, dict) and "u" in data:
            local = self.reviewer(data["u"])
            if local is not None:
                return Caller(local, by_token=True)
        if self.oidc is None:
            return Caller(None, by_token=True, problem="the bearer token is not valid here")
        return self._oidc_caller(token, by_token=True)

    def _oidc_caller(self, token: str, by_token: bool) -> Caller:
        assert self.oidc is not None
        try:
            identity = self.oidc.verify(token)
        except OidcTokenError as exc:
            return Caller(None, by_token=by_token, problem=str(exc))
        return Caller(Reviewer(identity.username, identity.tenants, identity.roles, via="oidc"),
                      by_token=by_token)

    def sign(self, value: object, salt: str) -> str:
        return self._signer.dumps(value, salt=salt)

    def load(self, value: str | None, salt: str, max_age_seconds: int) -> object:
        if not value:
            return None
        try:
            return self._signer.loads(value, salt=salt, max_age=max_age_seconds)
        except BadSignature:  # also covers SignatureExpired
            return None

    def sign_flash(self, message: str, level: str) -> str:
        return self._signer.dumps({"m": message, "l": level}, salt="revloop.flash")

    def read_flash(self, request: Request) -> dict[str, str] | None:
        data = self._load(request.cookies.get(FLASH_COOKIE), "revloop.flash")
        return data if isinstance(data, dict) else None

    def _load(self, value: str | None, salt: str) -> object:
        return self.load(value, salt, self.max_age_seconds)
