"""Browser sign-in through the identity provider: OAuth 2.0 authorization code with PKCE (RFC 7636).

/auth/oidc/login sends the browser to the provider with a fresh state, nonce and code challenge held in
a signed, short-lived cookie; /auth/oidc/callback checks the state, exchanges the code, verifies the
ID token (signature, issuer, audience, expiry, nonce) and keeps it in an HttpOnly cookie that every
request verifies again."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from actions.auth import ID_TOKEN_COOKIE
from actions.auth_oidc import OidcConfig, OidcTokenError
from actions.web_context import ReviewWeb, safe_next

STATE_COOKIE = "revloop_oidc_state"
STATE_SALT = "revloop.oidc-state"
STATE_MAX_AGE_SECONDS = 600


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def build_oidc_routes(web: ReviewWeb, http: httpx.Client | None = None) -> APIRouter:
    router = APIRouter(prefix="/auth/oidc", tags=["sign-in"], include_in_schema=False)
    auth = web.auth

    def config() -> OidcConfig | None:
        return auth.oidc.config if auth.oidc is not None and auth.oidc.config.browser_login else None

    def redirect_uri(request: Request, cfg: OidcConfig) -> str:
        return cfg.redirect_url or str(request.url_for("oidc_callback"))

    def failed(request: Request, message: str, status_code: int = 401) -> Response:
        return web.render_error(request, None, status_code, "Sign-in failed", message)

    @router.get("/login", name="oidc_login")
    def oidc_login(request: Request, next: str | None = None) -> Response:
        cfg = config()
        if cfg is None:
            return failed(request, "single sign-on is not configured here: use the local login", 404)
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        query = urlencode({"response_type": "code", "client_id": cfg.client_id,
                           "redirect_uri": redirect_uri(request, cfg), "scope": " ".join(cfg.scopes),
                           "state": state, "nonce": nonce, "code_challenge": _challenge(verifier),
                           "code_challenge_method": "S256"})
        response = RedirectResponse(f"{cfg.authorization_endpoint}?{query}", status_code=303)
        response.set_cookie(STATE_COOKIE, auth.sign({"s": state, "n": nonce, "v": verifier,
                                                     "next": safe_next(next)}, STATE_SALT),
                            max_age=STATE_MAX_AGE_SECONDS, httponly=True, samesite="lax",
                            secure=auth.secure_cookies, path="/auth/oidc")
        return response

    @router.get("/callback", name="oidc_callback")
    def oidc_callback(request: Request, code: str | None = None, state: str | None = None,
                      error: str | None = None, error_description: str | None = None) -> Response:
        cfg = config()
        if cfg is None or auth.oidc is None:
            return failed(request, "single sign-on is not configured here: use the local login", 404)
        if error:
            return failed(request, f"the identity provider refused: {error} {error_description or ''}")
        held = auth.load(request.cookies.get(STATE_COOKIE), STATE_SALT, STATE_MAX_AGE_SECONDS)
        if not isinstance(held, dict) or not state or not code:
            return failed(request, "the sign-in expired or was started elsewhere: sign in again")
        if not hmac.compare_digest(str(held.get("s", "")), state):
            return failed(request, "the sign-in state does not match (a forged or replayed callback)")
        try:
            id_token = _exchange(http, cfg, code, redirect_uri(request, cfg), str(held["v"]))
            identity = auth.oidc.verify(id_token, nonce=str(held["n"]))
        except OidcTokenError as exc:
            return failed(request, str(exc))
        response = RedirectResponse(safe_next(str(held.get("next") or "")), status_code=303)
        response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
        lifetime = max(0, identity.expires_at - int(time.time()))
        response.set_cookie(ID_TOKEN_COOKIE, id_token, httponly=True, samesite="lax",
                            secure=auth.secure_cookies, max_age=lifetime)
        return response

    return router


def _exchange(http: httpx.Client | None, cfg: OidcConfig, code: str, redirect_uri: str,
              verifier: str) -> str:
    """POST the code to the token endpoint; a confidential client authenticates with HTTP Basic."""
    assert cfg.token_endpoint is not None
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": cfg.client_id, "code_verifier": verifier}
    basic = (cfg.client_id, cfg.client_secret) if cfg.client_secret else None
    client = http or httpx.Client(timeout=10)
    try:
        answer = client.post(cfg.token_endpoint, data=form, auth=basic)
    except httpx.HTTPError as exc:
        raise OidcTokenError(f"could not reach the token endpoint {cfg.token_endpoint}: {exc}") from exc
    finally:
        if http is None:
            client.close()
    if answer.status_code != 200:
        raise OidcTokenError(f"the token endpoint answered {answer.status_code}: {answer.text[:200]}")
    try:
        id_token = answer.json().get("id_token")
    except ValueError:
        id_token = None
    if not isinstance(id_token, str):
        raise OidcTokenError("the token endpoint returned no id_token (is the openid scope allowed?)")
    return id_token
