"""Who is reviewing: local development login with signed session cookies, and bearer tokens for the API.

The reviewer's identity always comes from here, never from a request body. Each user may review only
the tenants listed for them; anything of another tenant answers 404, as if it did not exist."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request

SESSION_COOKIE = "revloop_session"
FLASH_COOKIE = "revloop_flash"


@dataclass(frozen=True)
class Reviewer:
    username: str
    tenants: frozenset[str]

    def may_review(self, tenant: str) -> bool:
        return tenant in self.tenants

    @property
    def default_tenant(self) -> str | None:
        return min(self.tenants) if self.tenants else None


class ReviewerAuth:
    """Signs and checks sessions, API tokens, CSRF tokens and flash messages with one secret."""

    def __init__(self, users: Mapping[str, Iterable[str]], secret: str,
                 max_age_seconds: int = 12 * 3600, secure_cookies: bool = False) -> None:
        if len(secret) < 32:
            raise ValueError("the session secret must be at least 32 characters; generate one with "
                             "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`")
        self._users = {name: frozenset(tenants) for name, tenants in users.items()}
        self._signer = URLSafeTimedSerializer(secret)
        self.max_age_seconds = max_age_seconds
        self.secure_cookies = secure_cookies

    @property
    def usernames(self) -> list[str]:
        return sorted(self._users)

    def reviewer(self, username: str) -> Reviewer | None:
        tenants = self._users.get(username)
        return Reviewer(username, tenants) if tenants is not None else None

    def session_value(self, username: str) -> str:
        return self._signer.dumps({"u": username}, salt="revloop.session")

    def issue_token(self, username: str) -> str:
        """A bearer token for the JSON API, valid for ``max_age_seconds``."""
        return self._signer.dumps({"u": username}, salt="revloop.api-token")

    def csrf_token(self, reviewer: Reviewer) -> str:
        return self._signer.dumps(reviewer.username, salt="revloop.csrf")

    def check_csrf(self, reviewer: Reviewer, token: str | None) -> bool:
        return self._load(token, "revloop.csrf") == reviewer.username

    def from_session(self, request: Request) -> Reviewer | None:
        data = self._load(request.cookies.get(SESSION_COOKIE), "revloop.session")
        return self.reviewer(data["u"]) if isinstance(data, dict) and "u" in data else None

    def from_bearer(self, request: Request) -> Reviewer | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        data = self._load(token.strip(), "revloop.api-token")
        return self.reviewer(data["u"]) if isinstance(data, dict) and "u" in data else None

    def sign_flash(self, message: str, level: str) -> str:
        return self._signer.dumps({"m": message, "l": level}, salt="revloop.flash")

    def read_flash(self, request: Request) -> dict[str, str] | None:
        data = self._load(request.cookies.get(FLASH_COOKIE), "revloop.flash")
        return data if isinstance(data, dict) else None

    def _load(self, value: str | None, salt: str) -> object:
        if not value:
            return None
        try:
            return self._signer.loads(value, salt=salt, max_age=self.max_age_seconds)
        except BadSignature:  # also covers SignatureExpired
            return None
