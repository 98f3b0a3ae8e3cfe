"""The review web surface: server-rendered pages (no JS build) and a JSON API over the same services.

Mount the router at the application root. Identity comes from the signed session cookie (pages) or a
bearer token (API); tenant membership is checked on every request, and another tenant's proposal is
answered exactly like a missing one (404)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.templating import Jinja2Templates

from actions.auth import ReviewerAuth
from actions.review import ProposalReviewService
from actions.store import OperationalStore
from actions.views import RecordLookup, SignalLookup
from actions.web_api import build_api_routes
from actions.web_context import TEMPLATES_DIR, ReviewWeb
from actions.web_pages import build_page_routes


def build_review_router(store: OperationalStore, review_service: ProposalReviewService,
                        signal_lookup: SignalLookup, auth: ReviewerAuth, *,
                        record_lookup: RecordLookup | None = None) -> APIRouter:
    """``record_lookup(tenant, object, record_id)`` (the CRM's get_record) powers the before/after
    preview of crm.update_field proposals and binds approvals to the record version shown."""
    web = ReviewWeb(store, review_service, signal_lookup, record_lookup, auth,
                    Jinja2Templates(directory=str(TEMPLATES_DIR)))
    router = APIRouter()

    @router.get("/healthz", tags=["health"], summary="Liveness: the operational database answers")
    def healthz() -> dict[str, object]:
        return {"status": "ok", "ready_cursor": store.max_decision_id()}

    router.include_router(build_page_routes(web))
    router.include_router(build_api_routes(web))
    return router
