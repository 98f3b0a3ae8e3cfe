"""OIDC sign-in against a test identity provider served on loopback: JWKS fetched by URL and cached,
key rotation, the authorization-code + PKCE browser flow, and JWT bearer calls to the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from actions.auth import ID_TOKEN_COOKIE
from actions.auth_oidc import OidcTokenError, OidcVerifier
from actions.status import ProposalStatus
from tests.integration.test_actions_web_support import CANARY, IdpServer, ReviewEnv, TestIdp, hidden_fields


@pytest.fixture
def idp_server() -> Iterator[IdpServer]:
    with IdpServer(TestIdp()).running() as server:
        yield server


def test_jwks_is_fetched_by_url_once_and_refetched_for_a_rotated_key(idp_server: IdpServer) -> None:
    verifier = OidcVerifier(idp_server.config(jwks_refetch_cooldown_seconds=0))
    idp = idp_server.idp
    for _ in range(5):
        assert verifier.verify(idp.token()).username == "rita@acme.test"
    assert idp_server.jwks_fetches == 1, "keys are cached between requests"
    idp.rotate()
    assert verifier.verify(idp.token()).username == "rita@acme.test"
    assert idp_server.jwks_fetches == 2, "an unknown kid refetches the key set once"
    with pytest.raises(OidcTokenError, match="not in the issuer's key set"):
        verifier.verify(TestIdp().token())


def test_unreachable_jwks_fails_closed_with_the_reason() -> None:
    idp = TestIdp()
    verifier = OidcVerifier(idp.config(jwks=None, jwks_url="http://127.0.0.1:9/jwks.json"))
    with pytest.raises(OidcTokenError, match="could not fetch the signing keys"):
        verifier.verify(idp.token())


def _sign_in(env: ReviewEnv, server: IdpServer,
             next_path: str = "/review/p-task") -> tuple[TestClient, httpx.Response]:
    client = env.client()
    start = client.get(f"/auth/oidc/login?next={next_path}")
    assert start.status_code == 303 and start.headers["location"].startswith(server.base + "/authorize?")
    asked = {k: v[0] for k, v in parse_qs(urlparse(start.headers["location"]).query).items()}
    assert asked["code_challenge_method"] == "S256" and asked["client_id"] == server.idp.client_id
    back = httpx.get(start.headers["location"], follow_redirects=False)
    callback = urlparse(back.headers["location"])
    return client, client.get(f"{callback.path}?{callback.query}")


def test_browser_sign_in_with_code_and_pkce_sets_a_verified_session(tmp_path: Path,
                                                                   idp_server: IdpServer) -> None:
    env = ReviewEnv(tmp_path, oidc=OidcVerifier(idp_server.config()))
    assert "/auth/oidc/login" in env.client().get("/login").text
    idp_server.next_login = {"groups": ["approver-l3"], "tenants": "acme"}
    client, done = _sign_in(env, idp_server)
    assert done.status_code == 303 and done.headers["location"] == "/review/p-task"
    assert client.cookies.get(ID_TOKEN_COOKIE)
    page = client.get("/review/p-task")
    assert page.status_code == 200 and "rita@acme.test" in page.text and "approver:L3" in page.text
    assert client.get("/review/g-1").status_code == 404 and CANARY not in client.get("/review/g-1").text
    form = {**hidden_fields(page.text), "verdict": "approve", "rationale": "via SSO"}
    assert client.post("/review/p-task/decision", data=form).status_code == 303
    stored = env.loop.store.get("p-task")
    assert stored is not None and stored.status is ProposalStatus.approved
    assert stored.review is not None and stored.review.reviewer == "rita@acme.test"
    client.post("/logout")
    assert client.get("/review").status_code == 303


def test_callback_with_a_forged_state_or_no_sign_in_is_refused(tmp_path: Path,
                                                               idp_server: IdpServer) -> None:
    env = ReviewEnv(tmp_path, oidc=OidcVerifier(idp_server.config()))
    client = env.client()
    assert client.get("/auth/oidc/callback?code=abc&state=xyz").status_code == 401
    start = client.get("/auth/oidc/login")
    back = httpx.get(start.headers["location"], follow_redirects=False)
    query = {k: v[0] for k, v in parse_qs(urlparse(back.headers["location"]).query).items()}
    forged = client.get(f"/auth/oidc/callback?code={query['code']}&state=forged")
    assert forged.status_code == 401 and "state does not match" in forged.text
    assert not client.cookies.get(ID_TOKEN_COOKIE)
    refused = client.get("/auth/oidc/callback?error=access_denied&error_description=nope")
    assert refused.status_code == 401 and "access_denied" in refused.text


def test_api_accepts_cognito_tokens_and_keeps_tenants_apart(tmp_path: Path, idp_server: IdpServer) -> None:
    env = ReviewEnv(tmp_path, oidc=OidcVerifier(idp_server.config()))
    idp = idp_server.idp
    api = env.client()
    acme = {"Authorization": f"Bearer {idp.token(token_use='access', tenants='acme', groups=['reviewer'])}"}
    me = api.get("/api/me", headers=acme).json()
    assert me == {"reviewer": "rita@acme.test", "via": "oidc", "tenants": ["acme"], "roles": ["reviewer"],
                  "may_approve_up_to": "L0"}
    assert api.get("/api/proposals/g-1", headers=acme).status_code == 404
    body = {"verdict": "approve", "rationale": "x", "arguments_digest": env.task.arguments_digest}
    too_high = api.post("/api/proposals/p-task/decisions", headers=acme, json=body)
    assert too_high.status_code == 403 and too_high.json()["error"]["code"] == "forbidden_role"
    no_role = {"Authorization": f"Bearer {idp.token(groups=['marketing'])}"}
    assert api.get("/api/proposals", headers=no_role).status_code == 403
    wrong_client = {"Authorization": f"Bearer {idp.token(aud='another-app')}"}
    refused = api.get("/api/proposals", headers=wrong_client)
    assert refused.status_code == 401 and "another audience" in refused.json()["error"]["message"]
    assert api.get("/api/token", headers=acme).status_code == 401, "tokens are minted for sessions only"
