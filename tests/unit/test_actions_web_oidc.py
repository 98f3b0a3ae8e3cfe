"""OIDC/JWT identity (Cognito-shaped tokens) verified with PyJWT against a pinned JWK Set."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from starlette.requests import Request

from actions.auth import ID_TOKEN_COOKIE, ReviewerAuth
from actions.auth_oidc import OidcConfig, OidcTokenError, OidcVerifier
from actions.auth_roles import Role
from tests.integration.test_actions_web_support import TestIdp

SECRET = "k" * 40


@pytest.fixture
def idp() -> TestIdp:
    return TestIdp()


def _request(authorization: str | None = None, cookie: str | None = None) -> Request:
    headers = []
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    if cookie is not None:
        headers.append((b"cookie", f"{ID_TOKEN_COOKIE}={cookie}".encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "query_string": b""})


def test_cognito_id_token_gives_username_tenants_and_roles(idp: TestIdp) -> None:
    token = idp.token(tenants="acme, globex", groups=["reviewer", "approver-l2", "unrelated"])
    identity = OidcVerifier(idp.config()).verify(token)
    assert identity.username == "rita@acme.test"
    assert identity.tenants == {"acme", "globex"}
    assert identity.roles == {Role.reviewer, Role.approver_l2}


def test_cognito_access_token_is_checked_against_client_id(idp: TestIdp) -> None:
    verifier = OidcVerifier(idp.config())
    identity = verifier.verify(idp.token(token_use="access", tenants=["acme"]))
    assert identity.username == "rita@acme.test" and identity.tenants == {"acme"}
    with pytest.raises(OidcTokenError, match="another client"):
        verifier.verify(idp.token(token_use="access", client_id="someone-else"))


def _other_key_token(idp: TestIdp) -> str:
    stranger = TestIdp()
    return stranger.token(kid=idp.kid, key=stranger.keys[stranger.kid])


def _hs256_with_public_key(idp: TestIdp) -> str:
    public = idp.keys[idp.kid].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": idp.kid}).encode())
    body = b64(json.dumps(idp.claims()).encode())
    signature = hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def _signed(idp: TestIdp, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, idp.keys[idp.kid], algorithm="RS256", headers={"kid": idp.kid})


def _unsigned(idp: TestIdp) -> str:
    return jwt.encode(idp.claims(), key=None, algorithm="none", headers={"kid": idp.kid})


BAD_TOKENS: dict[str, Any] = {
    "wrong issuer": lambda idp: idp.token(iss="https://evil.example"),
    "wrong audience": lambda idp: idp.token(aud="another-app"),
    "expired": lambda idp: idp.token(exp=int(time.time()) - 120),
    "not yet valid": lambda idp: idp.token(nbf=int(time.time()) + 600),
    "refresh token_use": lambda idp: _signed(idp, {**idp.claims(), "token_use": "refresh"}),
    "no exp": lambda idp: _signed(idp, {k: v for k, v in idp.claims().items() if k != "exp"}),
    "signed by another key": _other_key_token,
    "unknown kid": lambda idp: TestIdp().token(),
    "alg confusion HS256": _hs256_with_public_key,
    "alg none": _unsigned,
    "garbage": lambda idp: "not.a.jwt",
    "no username": lambda idp: _signed(idp, {k: v for k, v in idp.claims().items()
                                             if k not in {"email", "cognito:username", "sub"}}),
}
REASONS = {
    "wrong issuer": "not issued by", "wrong audience": "another audience", "expired": "expired",
    "not yet valid": "not valid yet", "refresh token_use": "token_use", "no exp": "exp",
    "signed by another key": "Signature verification failed", "unknown kid": "no configured signing key",
    "alg confusion HS256": "alg value is not allowed", "alg none": "alg value is not allowed",
    "garbage": "verification",
    "no username": "username claims",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
def test_bad_tokens_are_refused_with_a_reason(idp: TestIdp, case: str) -> None:
    token = BAD_TOKENS[case](idp)
    with pytest.raises(OidcTokenError, match=REASONS[case]):
        OidcVerifier(idp.config()).verify(token)


def test_nonce_must_match_the_sign_in(idp: TestIdp) -> None:
    verifier = OidcVerifier(idp.config())
    assert verifier.verify(idp.token(nonce="n-1"), nonce="n-1").username
    with pytest.raises(OidcTokenError, match="nonce"):
        verifier.verify(idp.token(nonce="n-1"), nonce="n-2")


def test_symmetric_algorithms_cannot_be_configured(idp: TestIdp) -> None:
    with pytest.raises(ValueError, match="public keys"):
        OidcVerifier(idp.config(algorithms=("HS256",)))
    with pytest.raises(ValueError, match="issuer"):
        OidcVerifier(OidcConfig(issuer="", client_id="x", jwks=idp.jwks()))


def test_generic_oidc_provider_without_token_use(idp: TestIdp) -> None:
    claims = {k: v for k, v in idp.claims(groups=["approver:L3"]).items() if k != "token_use"}
    token = jwt.encode({**claims, "roles": ["admin"], "tenants": ["acme"]}, idp.keys[idp.kid],
                       algorithm="RS256", headers={"kid": idp.kid})
    cfg = idp.config(token_uses=None, roles_claim="roles", tenants_claim="tenants")
    identity = OidcVerifier(cfg).verify(token)
    assert identity.roles == {Role.admin} and identity.tenants == {"acme"}
    with pytest.raises(OidcTokenError, match="token_use"):
        OidcVerifier(idp.config()).verify(token)


def test_reviewer_auth_takes_jwt_bearer_and_id_token_cookie(idp: TestIdp) -> None:
    auth = ReviewerAuth({"dev": {"acme"}}, SECRET, oidc=OidcVerifier(idp.config()))
    token = idp.token(tenants="acme")
    by_bearer = auth.identify(_request(authorization=f"Bearer {token}"))
    assert by_bearer.by_token and by_bearer.reviewer is not None
    assert by_bearer.reviewer.username == "rita@acme.test" and by_bearer.reviewer.via == "oidc"
    assert by_bearer.reviewer.may_approve(by_bearer.reviewer.approval_ceiling)  # type: ignore[arg-type]
    by_cookie = auth.identify(_request(cookie=token))
    assert not by_cookie.by_token and by_cookie.reviewer == by_bearer.reviewer
    expired = auth.identify(_request(authorization=f"Bearer {idp.token(exp=int(time.time()) - 100)}"))
    assert expired.reviewer is None and "expired" in (expired.problem or "")
    assert auth.identify(_request(authorization="Bearer " + auth.issue_token("dev"))).reviewer is not None


def test_local_and_oidc_csrf_tokens_differ_for_the_same_name(idp: TestIdp) -> None:
    auth = ReviewerAuth({"rita@acme.test": {"acme"}}, SECRET, oidc=OidcVerifier(idp.config()))
    local = auth.reviewer("rita@acme.test")
    oidc = auth.identify(_request(authorization=f"Bearer {idp.token()}")).reviewer
    assert local is not None and oidc is not None
    assert not auth.check_csrf(oidc, auth.csrf_token(local))


def test_local_login_can_be_switched_off(idp: TestIdp) -> None:
    auth = ReviewerAuth({"dev": {"acme"}}, SECRET, oidc=OidcVerifier(idp.config()), local_login=False)
    assert auth.reviewer("dev") is None and auth.usernames == []
    assert auth.identify(_request(authorization="Bearer " + auth.issue_token("dev"))).reviewer is None
    with pytest.raises(ValueError, match="OIDC"):
        ReviewerAuth({}, SECRET, local_login=False)
