"""The review web surface: server-rendered pages (no JS build) and a JSON API over the same services.

Mount the router at the application root. Identity comes from authentication only: the local login's
signed session cookie, the OIDC sign-in's ID-token cookie, or a bearer token (local API token or an
OIDC/Cognito JWT). Tenant membership and roles are checked on every request, and another tenant's
proposal is answered exactly like a missing one (404)."""

from __future__ import annotations

import httpx
from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

from actions.auth import ReviewerAuth
from actions.review import ProposalReviewService
from actions.store import OperationalStore
from actions.views import RecordLookup, SignalLookup
from actions.web_api import build_api_routes
from actions.web_context import TEMPLATES_DIR, ReviewWeb
from actions.web_detail import build_detail_routes
from actions.web_oidc import build_oidc_routes
from actions.web_pages import build_page_routes

# Reachable without signing in; every other route must prove auth and tenant checks in the tests.
PUBLIC_ROUTES = frozenset({("GET", "/healthz"), ("GET", "/"), ("GET", "/login"), ("POST", "/login"),
                           ("POST", "/logout"), ("GET", "/auth/oidc/login"), ("GET", "/auth/oidc/callback")})


def build_review_router(store: OperationalStore, review_service: ProposalReviewService,
                        signal_lookup: SignalLookup, auth: ReviewerAuth, *,
                        record_lookup: RecordLookup | None = None,
                        oidc_http: httpx.Client | None = None) -> APIRouter:
    """``record_lookup(tenant, object, record_id)`` (the CRM's get_record) powers the before/after
    preview of CRM changes and binds approvals to the record version shown. ``oidc_http`` is the
    client for the token endpoint (default: a new httpx client per sign-in)."""
    web = ReviewWeb(store, review_service, signal_lookup, record_lookup, auth,
                    Jinja2Templates(directory=str(TEMPLATES_DIR)))
    router = APIRouter()

    @router.get("/healthz", tags=["health"], summary="Liveness: the operational database answers")
    def healthz() -> dict[str, object]:
        return {"status": "ok", "ready_cursor": store.max_decision_id()}

    router.include_router(build_page_routes(web))
    router.include_router(build_detail_routes(web))
    router.include_router(build_oidc_routes(web, oidc_http))
    router.include_router(build_api_routes(web))
    return router
