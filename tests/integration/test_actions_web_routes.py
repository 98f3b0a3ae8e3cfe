"""Every route of the review app, enumerated: each needs authentication, refuses an identity without a
role, and answers 404 for another tenant's proposal or tenant (RELIABILITY item 14) while the owner of
that tenant gets through. A new route without a probe here fails test_every_route_has_a_probe."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from actions.web import PUBLIC_ROUTES
from tests.integration.test_actions_web_support import CANARY, ReviewEnv

# FastAPI's own documentation routes: public by design, they carry no data.
DOCS_ROUTES = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs/oauth2-redirect"),
               ("GET", "/redoc")}
Call = Callable[[ReviewEnv, TestClient, str], httpx.Response]


@dataclass(frozen=True)
class Probe:
    call: Call  # (env, client logged in as someone, user) -> response about globex's g-1 / tenant
    api: bool
    tenant_scoped: bool = True


def _csrf(env: ReviewEnv, user: str) -> str:
    reviewer = env.auth.reviewer(user)
    return env.auth.csrf_token(reviewer) if reviewer else ""


def _bearer(env: ReviewEnv, user: str) -> dict[str, str]:
    return env.bearer(user) if env.auth.reviewer(user) else {}


def _page_form(env: ReviewEnv, user: str, **extra: str) -> dict[str, str]:
    return {"csrf_token": _csrf(env, user), "arguments_digest": env.globex.arguments_digest, **extra}


PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/review"): Probe(lambda e, c, u: c.get("/review?tenant=globex"), api=False),
    ("GET", "/outbox"): Probe(lambda e, c, u: c.get("/outbox?tenant=globex"), api=False),
    ("GET", "/review/{proposal_id}"): Probe(lambda e, c, u: c.get("/review/g-1"), api=False),
    ("POST", "/review/{proposal_id}/decision"): Probe(lambda e, c, u: c.post(
        "/review/g-1/decision", data=_page_form(e, u, verdict="approve", rationale="x")), api=False),
    ("POST", "/review/{proposal_id}/edit"): Probe(lambda e, c, u: c.post(
        "/review/g-1/edit", data=_page_form(e, u, **{"arg.subject": "x", "arg.due_in_days": "2",
                                                     "rationale": "x"})), api=False),
    ("POST", "/review/{proposal_id}/info-request"): Probe(lambda e, c, u: c.post(
        "/review/g-1/info-request", data=_page_form(e, u, question="why?")), api=False),
    ("GET", "/api/token"): Probe(lambda e, c, u: c.get("/api/token"), api=True, tenant_scoped=False),
    ("GET", "/api/me"): Probe(lambda e, c, u: c.get("/api/me", headers=_bearer(e, u)), api=True,
                              tenant_scoped=False),
    ("GET", "/api/proposals"): Probe(lambda e, c, u: c.get("/api/proposals?tenant=globex",
                                                           headers=_bearer(e, u)), api=True),
    ("GET", "/api/proposals/{proposal_id}"): Probe(lambda e, c, u: c.get(
        "/api/proposals/g-1", headers=_bearer(e, u)), api=True),
    ("POST", "/api/proposals/{proposal_id}/decisions"): Probe(lambda e, c, u: c.post(
        "/api/proposals/g-1/decisions", headers=_bearer(e, u), json={
            "verdict": "approve", "rationale": "x", "arguments_digest": e.globex.arguments_digest}),
        api=True),
    ("POST", "/api/proposals/{proposal_id}/edits"): Probe(lambda e, c, u: c.post(
        "/api/proposals/g-1/edits", headers=_bearer(e, u), json={
            "arguments": {"subject": "x", "due_in_days": 2}, "rationale": "x",
            "arguments_digest": e.globex.arguments_digest}), api=True),
    ("POST", "/api/proposals/{proposal_id}/info-requests"): Probe(lambda e, c, u: c.post(
        "/api/proposals/g-1/info-requests", headers=_bearer(e, u), json={"question": "why?"}), api=True),
}


@pytest.fixture
def env(tmp_path: Path) -> ReviewEnv:
    return ReviewEnv(tmp_path)


def _app_routes(env: ReviewEnv) -> set[tuple[str, str]]:
    """(method, path) of every route, through included routers (FastAPI resolves those lazily)."""
    found = set()
    for context in iter_route_contexts(env.app.routes):
        methods = getattr(context.original_route, "methods", None) or set()
        found.update((method, str(context.path)) for method in methods - {"HEAD"})
    return found


def test_every_route_has_a_probe(env: ReviewEnv) -> None:
    routes = _app_routes(env)
    unprobed = routes - set(PROBES) - PUBLIC_ROUTES - DOCS_ROUTES
    assert not unprobed, f"routes without an auth/tenant probe in this file: {sorted(unprobed)}"
    assert set(PROBES) <= routes, f"probes of routes that no longer exist: {sorted(set(PROBES) - routes)}"



@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_needs_authentication(env: ReviewEnv, route: tuple[str, str]) -> None:
    probe = PROBES[route]
    response = probe.call(env, env.client(), "")
    if probe.api:
        assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    else:
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert CANARY not in response.text


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_refuses_an_identity_without_a_role(env: ReviewEnv, route: tuple[str, str]) -> None:
    probe = PROBES[route]
    response = probe.call(env, env.client("nora"), "nora")
    assert response.status_code == 403
    assert CANARY not in response.text


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
def test_another_tenants_data_is_404_and_its_owner_gets_through(env: ReviewEnv,
                                                               route: tuple[str, str]) -> None:
    probe = PROBES[route]
    foreign = probe.call(env, env.client("rita"), "rita")
    assert CANARY not in foreign.text
    if probe.tenant_scoped:
        assert foreign.status_code == 404, foreign.text[:300]
        stored = env.loop.store.get("g-1")
        assert stored is not None and stored.proposal.version == 1
        assert stored.status.value == "needs_approval", "nothing changed for globex"
    owner = probe.call(env, env.client("gus"), "gus")
    assert owner.status_code in (200, 201, 303), owner.text[:300]
    if probe.tenant_scoped and route[0] == "POST":
        assert env.loop.ledger.entries("globex"), "the owner's write went through and was ledgered"
