"""Reviewer auth: signed sessions and tokens, CSRF tokens, tenant membership."""

from __future__ import annotations

import time

import pytest
from starlette.requests import Request

from actions.auth import SESSION_COOKIE, ReviewerAuth

SECRET = "k" * 40


def _request(cookie: str | None = None, authorization: str | None = None) -> Request:
    headers = []
    if cookie is not None:
        headers.append((b"cookie", f"{SESSION_COOKIE}={cookie}".encode()))
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


@pytest.fixture
def auth() -> ReviewerAuth:
    return ReviewerAuth({"rita": {"acme"}, "demo": ["acme", "globex"]}, SECRET)


def test_session_round_trip_and_tenant_membership(auth: ReviewerAuth) -> None:
    reviewer = auth.from_session(_request(auth.session_value("rita")))
    assert reviewer is not None and reviewer.username == "rita"
    assert reviewer.may_review("acme") and not reviewer.may_review("globex")
    assert auth.reviewer("demo").default_tenant == "acme"  # type: ignore[union-attr]


def test_session_and_token_are_not_interchangeable(auth: ReviewerAuth) -> None:
    assert auth.from_bearer(_request(authorization=f"Bearer {auth.session_value('rita')}")) is None
    assert auth.from_session(_request(auth.issue_token("rita"))) is None
    assert auth.from_bearer(_request(authorization=f"Bearer {auth.issue_token('rita')}")) is not None


def test_forged_expired_and_unknown_credentials_are_refused(auth: ReviewerAuth) -> None:
    other = ReviewerAuth({"rita": {"acme"}}, "z" * 40)
    assert auth.from_session(_request(other.session_value("rita"))) is None
    assert auth.from_session(_request("garbage")) is None
    assert auth.from_bearer(_request(authorization="Basic abc")) is None
    assert auth.from_session(_request(auth.session_value("mallory"))) is None, "not a configured user"
    short = ReviewerAuth({"rita": {"acme"}}, SECRET, max_age_seconds=0)
    value = short.session_value("rita")
    time.sleep(1.1)
    assert short.from_session(_request(value)) is None


def test_csrf_token_is_bound_to_the_reviewer(auth: ReviewerAuth) -> None:
    rita, demo = auth.reviewer("rita"), auth.reviewer("demo")
    assert rita is not None and demo is not None
    assert auth.check_csrf(rita, auth.csrf_token(rita))
    assert not auth.check_csrf(demo, auth.csrf_token(rita))
    assert not auth.check_csrf(rita, None) and not auth.check_csrf(rita, "forged")


def test_short_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 32"):
        ReviewerAuth({"rita": {"acme"}}, "short")
