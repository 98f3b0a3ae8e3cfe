"""Server-rendered review pages: login, inbox with filters and SLA timers, outbox."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from actions.auth import ID_TOKEN_COOKIE, SESSION_COOKIE
from actions.errors import ActionsError
from actions.status import ProposalStatus
from actions.views import UnknownStatusError, age, status_filter
from actions.views_inbox import (
    AGE_CHOICES,
    SlaState,
    UnknownFilterError,
    inbox_rows,
    parse_older_than,
    parse_sla,
)
from actions.web_context import ReviewWeb, safe_next
from decisioning.contracts import ActionType, RiskTier

STATUS_CHOICES = ["pending", "all",
                  *(s.value for s in ProposalStatus if s is not ProposalStatus.needs_approval)]


def build_page_routes(web: ReviewWeb) -> APIRouter:
    router = APIRouter(tags=["review pages"], include_in_schema=False)

    @router.get("/", response_class=RedirectResponse)
    def root() -> RedirectResponse:
        return RedirectResponse("/review", status_code=303)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return web.render(request, "login.html", web.auth.from_session(request), users=web.auth.usernames,
                          next=safe_next(next), error=None, local_login=web.auth.local_login)

    @router.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        username, target = str(form.get("username") or ""), safe_next(str(form.get("next") or ""))
        if web.auth.reviewer(username) is None:
            message = (f"unknown local user {username!r}: pick one from the list" if web.auth.local_login
                       else "the local login is switched off here: sign in with single sign-on")
            return web.render(request, "login.html", None, status_code=401, users=web.auth.usernames,
                              next=target, error=message, local_login=web.auth.local_login)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, web.auth.session_value(username), httponly=True,
                            samesite="lax", secure=web.auth.secure_cookies,
                            max_age=web.auth.max_age_seconds)
        return response

    @router.post("/logout")
    def logout() -> RedirectResponse:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        response.delete_cookie(ID_TOKEN_COOKIE)
        return response

    @router.get("/review", response_class=HTMLResponse)
    def inbox(request: Request, tenant: str | None = None, status: str | None = None,
              action_type: str | None = None, risk_tier: str | None = None,
              account_id: str | None = None, older_than: str | None = None,
              sla: str | None = None) -> Response:
        reviewer = web.page_reviewer(request)
        if isinstance(reviewer, Response):
            return reviewer
        try:
            chosen = web.tenant_for(reviewer, tenant)
        except ActionsError as exc:
            return web.render_error(request, reviewer, 404, "Not found", exc.message)
        try:
            wanted = status_filter(status)
            min_age, sla_state = parse_older_than(older_than), parse_sla(sla)
        except (UnknownStatusError, UnknownFilterError) as exc:
            return web.render_error(request, reviewer, 422, "Invalid filter", str(exc))
        items = web.store.list(chosen, status=wanted, action_type=action_type or None,
                               risk_tier=risk_tier or None, account_id=(account_id or "").strip() or None)
        now = web.now()
        filters = {"status": status or "pending", "action_type": action_type or "",
                   "risk_tier": risk_tier or "", "account_id": account_id or "",
                   "older_than": older_than or "", "sla": sla or ""}
        return web.render(request, "inbox.html", reviewer, tenant=chosen, filters=filters,
                          statuses=STATUS_CHOICES, action_types=[t.value for t in ActionType],
                          risk_tiers=[t.value for t in RiskTier], age_choices=list(AGE_CHOICES),
                          sla_choices=[s.value for s in SlaState], rows=inbox_rows(items, now, web.ttl,
                                                                                   min_age, sla_state),
                          now=now, age=age, counts=web.store.status_counts(chosen),
                          tenants=sorted(reviewer.tenants), window=web.ttl)

    @router.get("/outbox", response_class=HTMLResponse)
    def outbox(request: Request, tenant: str | None = None) -> Response:
        reviewer = web.page_reviewer(request)
        if isinstance(reviewer, Response):
            return reviewer
        try:
            chosen = web.tenant_for(reviewer, tenant)
        except ActionsError as exc:
            return web.render_error(request, reviewer, 404, "Not found", exc.message)
        return web.render(request, "outbox.html", reviewer, tenant=chosen, tenants=sorted(reviewer.tenants),
                          messages=web.store.outbox(chosen))

    return router
