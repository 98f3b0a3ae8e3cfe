"""Server-rendered review pages: login, inbox, proposal detail with the decision form, outbox."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from actions.auth import FLASH_COOKIE, SESSION_COOKIE, Reviewer
from actions.contracts import ReviewVerdict
from actions.errors import ActionsError
from actions.status import ProposalStatus
from actions.views import UnknownStatusError, age, evidence_items, expires_at, field_preview, status_filter
from actions.web_context import ReviewWeb

STATUS_CHOICES = ["pending", "all",
                  *(s.value for s in ProposalStatus if s is not ProposalStatus.needs_approval)]


def _safe_next(target: str | None) -> str:
    """Only same-site paths: a login link must not redirect to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/review"


def build_page_routes(web: ReviewWeb) -> APIRouter:
    router = APIRouter(tags=["review pages"], include_in_schema=False)

    def render(request: Request, name: str, reviewer: Reviewer | None, status_code: int = 200,
               **context: Any) -> HTMLResponse:
        flash = web.auth.read_flash(request)
        response = web.templates.TemplateResponse(request, name, {
            "reviewer": reviewer, "flash": flash,
            "csrf_token": web.auth.csrf_token(reviewer) if reviewer else "", **context,
        }, status_code=status_code)
        if flash:
            response.delete_cookie(FLASH_COOKIE)
        return response

    def not_found(request: Request, reviewer: Reviewer, message: str) -> HTMLResponse:
        return render(request, "error.html", reviewer, status_code=404, title="Not found", message=message)

    def to_login(request: Request) -> RedirectResponse:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)

    def redirect_with_flash(url: str, message: str, level: str) -> RedirectResponse:
        response = RedirectResponse(url, status_code=303)
        response.set_cookie(FLASH_COOKIE, web.auth.sign_flash(message, level), httponly=True,
                            samesite="lax", secure=web.auth.secure_cookies)
        return response

    @router.get("/", response_class=RedirectResponse)
    def root() -> RedirectResponse:
        return RedirectResponse("/review", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return render(request, "login.html", web.auth.from_session(request), users=web.auth.usernames,
                      next=_safe_next(next), error=None)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        username, target = str(form.get("username") or ""), _safe_next(str(form.get("next") or ""))
        if web.auth.reviewer(username) is None:
            return render(request, "login.html", None, status_code=401, users=web.auth.usernames,
                          next=target, error=f"unknown local user {username!r}: pick one from the list")
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, web.auth.session_value(username), httponly=True,
                            samesite="lax", secure=web.auth.secure_cookies,
                            max_age=web.auth.max_age_seconds)
        return response

    @router.post("/logout")
    def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @router.get("/review", response_class=HTMLResponse)
    def inbox(request: Request, tenant: str | None = None, status: str | None = None,
              action_type: str | None = None, risk_tier: str | None = None,
              account_id: str | None = None) -> Response:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return to_login(request)
        try:
            chosen = web.tenant_for(reviewer, tenant)
            wanted = status_filter(status)
        except ActionsError as exc:
            return not_found(request, reviewer, exc.message)
        except UnknownStatusError as exc:
            return render(request, "error.html", reviewer, status_code=422, title="Invalid filter",
                          message=str(exc))
        items = web.store.list(chosen, status=wanted, action_type=action_type or None,
                               risk_tier=risk_tier or None, account_id=account_id or None)
        return render(request, "inbox.html", reviewer, tenant=chosen, status=status or "pending",
                      statuses=STATUS_CHOICES, items=items, now=web.now(), age=age,
                      counts=web.store.status_counts(chosen), tenants=sorted(reviewer.tenants))

    @router.get("/review/{proposal_id}", response_class=HTMLResponse)
    def detail(proposal_id: str, request: Request) -> Response:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return to_login(request)
        try:
            stored = web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return not_found(request, reviewer, exc.message)
        return render(request, "detail.html", reviewer, item=stored, tenant=stored.tenant,
                      evidence=evidence_items(stored.proposal, web.signal_lookup),
                      preview=field_preview(stored.proposal, web.record_lookup),
                      expires=expires_at(stored, web.ttl), now=web.now(), age=age,
                      awaiting=stored.status is ProposalStatus.needs_approval)

    @router.post("/review/{proposal_id}/decision")
    async def decision(proposal_id: str, request: Request) -> Response:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return to_login(request)
        try:
            stored = web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return not_found(request, reviewer, exc.message)
        form = await request.form()
        back = f"/review/{quote(proposal_id, safe='')}"
        if not web.auth.check_csrf(reviewer, str(form.get("csrf_token") or "")):
            return redirect_with_flash(back, "The form was stale or forged (CSRF check failed): "
                                       "reload the page and decide again.", "error")
        try:
            verdict = ReviewVerdict(str(form.get("verdict") or ""))
            version = str(form.get("record_version") or "")
            decided = web.review.decide(
                stored.tenant, proposal_id, verdict, reviewer.username, str(form.get("rationale") or ""),
                str(form.get("arguments_digest") or ""), int(version) if version.isdigit() else None)
        except ActionsError as exc:
            return redirect_with_flash(back, exc.message, "error")
        except ValueError:
            return redirect_with_flash(back, "Choose approve or reject.", "error")
        done = "approved" if decided.verdict is ReviewVerdict.approve else "rejected"
        return redirect_with_flash(back, f"Proposal {proposal_id} {done}. Thank you, {reviewer.username}.",
                                   "ok")

    @router.get("/outbox", response_class=HTMLResponse)
    def outbox(request: Request, tenant: str | None = None) -> Response:
        reviewer = web.auth.from_session(request)
        if reviewer is None:
            return to_login(request)
        try:
            chosen = web.tenant_for(reviewer, tenant)
        except ActionsError as exc:
            return not_found(request, reviewer, exc.message)
        return render(request, "outbox.html", reviewer, tenant=chosen, tenants=sorted(reviewer.tenants),
                      messages=web.store.outbox(chosen))

    return router
