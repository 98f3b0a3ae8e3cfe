"""Shared builders for the review-web tests (no tests here): a test identity provider that signs
Cognito-shaped tokens and can serve its JWKS, authorize and token endpoints on loopback."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from actions.auth import LocalUser, ReviewerAuth
from actions.auth_oidc import OidcConfig, OidcVerifier
from actions.auth_roles import Role
from actions.web import build_review_router
from decisioning.contracts import ActionType, Citation, PolicyOutcome, RiskTier
from perception.contracts import Evidence, Severity, Signal, SignalKind
from tests.integration.test_actions_support import T0, Loop, make_proposal, policy

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST"
CLIENT_ID = "revloop-review-client"


class TestIdp:
    """An RSA signing key (rotatable) and Cognito-shaped ID and access tokens."""

    __test__ = False

    def __init__(self, issuer: str = ISSUER, client_id: str = CLIENT_ID) -> None:
        self.issuer = issuer
        self.client_id = client_id
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.kid = self.rotate()

    def rotate(self) -> str:
        kid = "kid-" + uuid.uuid4().hex[:8]
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
            keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return {"keys": keys}

    def claims(self, username: str = "rita@acme.test", tenants: str | list[str] = "acme",
               groups: list[str] | None = None, token_use: str = "id", **extra: Any) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "sub": str(uuid.uuid5(uuid.NAMESPACE_DNS, username)), "iss": self.issuer, "iat": now,
            "exp": now + 3600, "auth_time": now, "token_use": token_use,
            "cognito:groups": groups if groups is not None else ["reviewer", "approver-l2"],
            "custom:tenants": tenants,
        }
        if token_use == "id":
            claims.update({"aud": self.client_id, "email": username, "cognito:username": username})
        else:
            claims.update({"client_id": self.client_id, "username": username, "scope": "openid email"})
        claims.update(extra)
        return claims

    def token(self, kid: str | None = None, algorithm: str = "RS256", key: Any = None, **claims: Any) -> str:
        kid = kid or self.kid
        signing_key = key if key is not None else self.keys[kid]
        return jwt.encode(self.claims(**claims), signing_key, algorithm=algorithm, headers={"kid": kid})

    def config(self, **overrides: Any) -> OidcConfig:
        return OidcConfig(**{"issuer": self.issuer, "client_id": self.client_id, "jwks": self.jwks(),
                             **overrides})


class IdpServer:
    """Serves the IdP over loopback HTTP: /jwks.json, /authorize (redirects back with a code) and
    /token (exchanges the code for an ID token carrying the nonce; checks the PKCE verifier)."""

    def __init__(self, idp: TestIdp) -> None:
        self.idp = idp
        self.jwks_fetches = 0
        self.codes: dict[str, dict[str, str]] = {}
        self.next_login: dict[str, Any] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self._server.server_port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/jwks.json":
                    server.jwks_fetches += 1
                    self._send(200, server.idp.jwks())
                elif url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = uuid.uuid4().hex
                    server.codes[code] = query
                    target = f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query['state']})}"
                    self.send_response(302)
                    self.send_header("location", target)
                    self.end_headers()
                else:
                    self._send(404, {"error": "not_found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                asked = server.codes.pop(form.get("code", ""), None)
                if asked is None or form.get("redirect_uri") != asked["redirect_uri"]:
                    self._send(400, {"error": "invalid_grant"})
                    return
                challenge = base64.urlsafe_b64encode(
                    hashlib.sha256(form.get("code_verifier", "").encode()).digest()).rstrip(b"=").decode()
                if challenge != asked["code_challenge"]:
                    self._send(400, {"error": "invalid_grant", "error_description": "PKCE"})
                    return
                id_token = server.idp.token(nonce=asked["nonce"], **server.next_login)
                self._send(200, {"id_token": id_token, "access_token": "opaque", "token_type": "Bearer"})

        return Handler

    def config(self, **overrides: Any) -> OidcConfig:
        return OidcConfig(**{"issuer": self.idp.issuer, "client_id": self.idp.client_id,
                             "jwks_url": f"{self.base}/jwks.json",
                             "authorization_endpoint": f"{self.base}/authorize",
                             "token_endpoint": f"{self.base}/token", **overrides})

    @contextmanager
    def running(self) -> Iterator[IdpServer]:
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


CANARY = "GLOBEX-CANARY-7731"
SECRET = "test-secret-" + "x" * 40


def review_signal(tenant: str, narrative: str) -> Signal:
    return Signal(tenant=tenant, account_id="acc-1", entity_type="account", entity_id="acc-1",
                  kind=SignalKind.usage_drop, severity=Severity.high,
                  evidence=[Evidence(object="usage", entity_id="acc-1", field="active_users",
                                     before=120, after=41, note="30-day average")],
                  observed_at=T0, source="demo", dedupe_key=f"{tenant}-usage", narrative=narrative)


# Local users, one per role: rita may approve up to L1, ada every tier, vic only reads, nora has no role.
REVIEW_USERS: dict[str, LocalUser] = {
    "rita": LocalUser(frozenset({"acme"}), frozenset({Role.reviewer, Role.approver_l1})),
    "ada": LocalUser(frozenset({"acme"}), frozenset({Role.approver_l3})),
    "vic": LocalUser(frozenset({"acme"}), frozenset({Role.viewer})),
    "nora": LocalUser(frozenset({"acme"}), frozenset()),
    "gus": LocalUser(frozenset({"globex"}), frozenset({Role.admin})),
}


class ReviewEnv:
    """The review router over a real SQLite store with acme's two proposals (a task at L1, a field
    update at L2) and one of globex carrying a canary string."""

    def __init__(self, tmp_path: Path, oidc: OidcVerifier | None = None) -> None:
        self.loop = Loop(tmp_path)
        acme_signal = review_signal("acme", "Active users fell from 120 to 41")
        globex_signal = review_signal("globex", f"secret globex narrative {CANARY}")
        self.signals = {s.signal_id: s for s in (acme_signal, globex_signal)}
        self.loop.crm.put("acme", "opportunities", "opp-9", stage="negotiation", amount=50000)
        evidence = [Citation(kind="signal", ref=acme_signal.signal_id),
                    Citation(kind="signal", ref=globex_signal.signal_id),
                    Citation(kind="graph_path", ref="Account:acc-1 -> WORKS_AT -> Contact:c3"),
                    Citation(kind="memory_hit", ref="mem-42",
                             detail="crm_note, score 0.83: QBR notes mention budget cuts")]
        self.task = self.loop.submit(make_proposal("p-task", evidence=evidence), PolicyOutcome.needs_approval)
        update = make_proposal("p-update", action_type=ActionType.crm_update_field, evidence=evidence,
                               account_id="acc-2", arguments={"object": "opportunities", "record_id": "opp-9",
                                                              "field": "stage", "value": "at_risk"})
        self.update = self.loop.submit(update.model_copy(update={"risk_tier": RiskTier.L2}),
                                       PolicyOutcome.needs_approval)
        self.globex = self.loop.submit(make_proposal(
            "g-1", tenant="globex", arguments={"subject": CANARY, "due_in_days": 1}),
            PolicyOutcome.needs_approval)
        self.auth = ReviewerAuth(REVIEW_USERS, SECRET, oidc=oidc)
        self.app = FastAPI()
        self.app.include_router(build_review_router(self.loop.store, self.loop.review, self.signals.get,
                                                    self.auth, record_lookup=self.loop.crm.get_record))

    def client(self, user: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if user is not None:
            assert client.post("/login", data={"username": user, "next": "/review"}).status_code == 303
        return client

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.issue_token(user)}"}

    def run_policy(self, outcome: PolicyOutcome = PolicyOutcome.needs_approval) -> None:
        """What the policy stage does between an edit and the next review."""
        for proposal in self.loop.store.pending_policy():
            self.loop.store.record_policy(policy(proposal, outcome, at=self.loop.clock()))


def hidden_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))
