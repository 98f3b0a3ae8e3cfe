"""What the review pages and the JSON API share: services, auth, templates, tenant and role checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.requests import Request

from actions.auth import FLASH_COOKIE, Reviewer, ReviewerAuth
from actions.errors import ProposalNotFoundError, TenantNotFoundError
from actions.review import ProposalReviewService
from actions.status import StoredProposal
from actions.store import OperationalStore
from actions.views import RecordLookup, SignalLookup

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
NO_ROLE = ("your identity carries no revloop role (viewer, reviewer, approver:L1..L3, admin): ask an "
           "admin to add you to one of those groups")


def safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"


@dataclass(frozen=True)
class ReviewWeb:
    """Everything the pages and API endpoints share."""

    store: OperationalStore
    review: ProposalReviewService
    signal_lookup: SignalLookup
    record_lookup: RecordLookup | None
    auth: ReviewerAuth
    templates: Jinja2Templates

    def now(self) -> datetime:
        return self.review.clock()

    @property
    def ttl(self) -> timedelta:
        return self.review.approval_ttl

    def tenant_for(self, reviewer: Reviewer, requested: str | None) -> str:
        tenant = requested or reviewer.default_tenant
        if tenant is None or not reviewer.may_review(tenant):
            raise TenantNotFoundError(f"no tenant {requested or ''!r} you may review")
        return tenant

    def load(self, reviewer: Reviewer, proposal_id: str) -> StoredProposal:
        stored = self.store.get(proposal_id)
        if stored is None or not reviewer.may_review(stored.tenant):
            raise ProposalNotFoundError(f"no proposal {proposal_id} you may review")
        return stored

    # --- pages ---------------------------------------------------------------------------------

    def render(self, request: Request, name: str, reviewer: Reviewer | None, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        flash = self.auth.read_flash(request)
        response = self.templates.TemplateResponse(request, name, {
            "reviewer": reviewer, "flash": flash, "oidc_login": self.oidc_login,
            "csrf_token": self.auth.csrf_token(reviewer) if reviewer else "", **context,
        }, status_code=status_code)
        if flash:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def render_error(self, request: Request, reviewer: Reviewer | None, status_code: int, title: str,
                     message: str) -> HTMLResponse:
        return self.render(request, "error.html", reviewer, status_code=status_code, title=title,
                           message=message)

    @property
    def oidc_login(self) -> bool:
        return self.auth.oidc is not None and self.auth.oidc.config.browser_login

    def page_reviewer(self, request: Request) -> Reviewer | HTMLResponse | RedirectResponse:
        """The signed-in reviewer, a redirect to the login, or a 403 page for an identity without roles."""
        reviewer = self.auth.from_session(request)
        if reviewer is None:
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
        if not reviewer.roles:
            return self.render_error(request, reviewer, 403, "No access", NO_ROLE)
        return reviewer

    def redirect_with_flash(self, url: str, message: str, level: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(FLASH_COOKIE, self.auth.sign_flash(message, level), httponly=True,
                            samesite="lax", secure=self.auth.secure_cookies)
        return response
