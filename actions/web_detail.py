"""The proposal page and its forms: approve / reject, edit arguments, request information."""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData

from actions.auth import Reviewer
from actions.contracts import ReviewVerdict
from actions.errors import ActionsError, InvalidArgumentsError
from actions.status import ProposalStatus, StoredProposal
from actions.views import age, evidence_items, expires_at
from actions.views_crm import bound_record_version, crm_changes
from actions.views_edit import argument_fields, field_errors, parse_argument_form
from actions.views_inbox import sla_timer
from actions.views_trail import ledger_trail
from actions.web_context import ReviewWeb
from decisioning.actions import ArgumentValidationError, validate_arguments

EDITABLE_HERE = {ProposalStatus.needs_approval, ProposalStatus.info_requested}


class Posted(NamedTuple):
    reviewer: Reviewer
    stored: StoredProposal
    form: FormData
    back: str


def build_detail_routes(web: ReviewWeb) -> APIRouter:
    router = APIRouter(tags=["review pages"], include_in_schema=False)

    def page(request: Request, reviewer: Reviewer, stored: StoredProposal, status_code: int = 200,
             submitted: FormData | None = None, errors: dict[str, str] | None = None) -> HTMLResponse:
        p = stored.proposal
        fields = argument_fields(p.action_type, p.arguments, dict(submitted or {}), errors)
        names = {f.name for f in fields}
        now = web.now()
        changes = crm_changes(p, web.record_lookup)
        return web.render(
            request, "detail.html", reviewer, status_code=status_code, item=stored, tenant=stored.tenant,
            evidence=evidence_items(p, web.signal_lookup), changes=changes,
            record_version=bound_record_version(changes),
            expires=expires_at(stored, web.ttl), sla=sla_timer(stored, now, web.ttl), now=now, age=age,
            awaiting=stored.status is ProposalStatus.needs_approval,
            editable=stored.status in EDITABLE_HERE and reviewer.may_decide(),
            may_approve=reviewer.may_approve(p.risk_tier), may_decide=reviewer.may_decide(),
            fields=fields, rationale_error=(errors or {}).get("_rationale"),
            form_errors=[v for k, v in (errors or {}).items() if k not in names and k != "_rationale"],
            edit_rationale=str((submitted or {}).get("rationale") or ""),
            questions=web.store.info_requests(stored.tenant, p.proposal_id),
            approval=web.store.approval(p.proposal_id, p.version),
            trail=ledger_trail(web.review.ledger, stored.tenant, p.proposal_id))

    def guarded(request: Request, proposal_id: str) -> tuple[Reviewer, StoredProposal] | Response:
        reviewer = web.page_reviewer(request)
        if isinstance(reviewer, Response):
            return reviewer
        try:
            return reviewer, web.load(reviewer, proposal_id)
        except ActionsError as exc:
            return web.render_error(request, reviewer, 404, "Not found", exc.message)

    async def posted(request: Request, proposal_id: str, verb: str | None) -> Posted | Response:
        """Signed-in reviewer of the proposal's tenant, a genuine form (CSRF), and the role to ``verb``
        proposals (None: the route checks the role itself)."""
        found = guarded(request, proposal_id)
        if isinstance(found, Response):
            return found
        reviewer, stored = found
        back = f"/review/{quote(proposal_id, safe='')}"
        form = await request.form()
        if not web.auth.check_csrf(reviewer, str(form.get("csrf_token") or "")):
            return web.redirect_with_flash(back, "The form was stale or forged (CSRF check failed): "
                                           "reload the page and try again.", "error")
        if verb is not None and not reviewer.may_decide():
            return web.render_error(request, reviewer, 403, "Not allowed", refuse_role(reviewer, verb))
        return Posted(reviewer, stored, form, back)

    @router.get("/review/{proposal_id}", response_class=HTMLResponse)
    def detail(proposal_id: str, request: Request) -> Response:
        found = guarded(request, proposal_id)
        if isinstance(found, Response):
            return found
        return page(request, *found)

    @router.post("/review/{proposal_id}/decision")
    async def decision(proposal_id: str, request: Request) -> Response:
        got = await posted(request, proposal_id, None)
        if isinstance(got, Response):
            return got
        reviewer, stored, form, back = got
        try:
            verdict = ReviewVerdict(str(form.get("verdict") or ""))
        except ValueError:
            return web.redirect_with_flash(back, "Choose approve or reject.", "error")
        refusal = refuse_decision(reviewer, stored, verdict)
        if refusal:
            return web.render_error(request, reviewer, 403, "Not allowed", refusal)
        version = str(form.get("record_version") or "")
        try:
            web.review.decide(stored.tenant, proposal_id, verdict, reviewer.username,
                              str(form.get("rationale") or ""), str(form.get("arguments_digest") or ""),
                              int(version) if version.isdigit() else None)
        except ActionsError as exc:
            return web.redirect_with_flash(back, exc.message, "error")
        done = "approved" if verdict is ReviewVerdict.approve else "rejected"
        return web.redirect_with_flash(
            back, f"Proposal {proposal_id} {done}. Thank you, {reviewer.username}.", "ok")

    @router.post("/review/{proposal_id}/edit")
    async def edit(proposal_id: str, request: Request) -> Response:
        got = await posted(request, proposal_id, "edit")
        if isinstance(got, Response):
            return got
        reviewer, stored, form, back = got
        if str(form.get("arguments_digest") or "") != stored.proposal.arguments_digest:
            return web.redirect_with_flash(back, "The proposal changed since you opened it: review the "
                                           "newest version and edit again.", "error")
        text = {str(k): str(v) for k, v in form.items()}
        arguments, errors = parse_argument_form(stored.proposal.action_type, text, stored.proposal.arguments)
        if not errors:
            try:
                validate_arguments(stored.proposal.action_type, arguments)
            except ArgumentValidationError as exc:
                errors = field_errors(exc.problems)
        if not errors and not str(form.get("rationale") or "").strip():
            errors = {"_rationale": "a rationale is required: say why you change the arguments"}
        if not errors:
            try:
                edited = web.review.edit(stored.tenant, proposal_id, reviewer.username, arguments,
                                         str(form.get("rationale")))
            except InvalidArgumentsError as exc:
                errors = field_errors(exc.problems) or {"_form": exc.message}
            except ActionsError as exc:
                return web.redirect_with_flash(back, exc.message, "error")
            else:
                return web.redirect_with_flash(
                    back, f"Saved version {edited.version} of {proposal_id}. It goes through policy again "
                    "before anyone can approve it.", "ok")
        return page(request, reviewer, stored, status_code=422, submitted=form, errors=errors)

    @router.post("/review/{proposal_id}/info-request")
    async def info_request(proposal_id: str, request: Request) -> Response:
        got = await posted(request, proposal_id, "ask for information on")
        if isinstance(got, Response):
            return got
        reviewer, stored, form, back = got
        try:
            web.review.request_info(stored.tenant, proposal_id, reviewer.username,
                                    str(form.get("question") or ""))
        except ActionsError as exc:
            return web.redirect_with_flash(back, exc.message, "error")
        return web.redirect_with_flash(back, "Question sent. The proposal waits for the answer.", "ok")

    return router


def refuse_role(reviewer: Reviewer, what: str) -> str:
    return (f"{reviewer.username} ({', '.join(reviewer.role_names)}) may not {what} proposals: "
            "that needs the reviewer role or above")


def refuse_decision(reviewer: Reviewer, stored: StoredProposal, verdict: ReviewVerdict) -> str | None:
    """Why this reviewer may not give this verdict, or None when they may."""
    tier = stored.proposal.risk_tier
    if verdict is ReviewVerdict.approve and not reviewer.may_approve(tier):
        ceiling = reviewer.approval_ceiling
        return (f"approving a {tier.value} proposal needs approver:{tier.value} or admin; "
                f"{reviewer.username} may approve " + (f"up to {ceiling.value}" if ceiling else "nothing"))
    if verdict is ReviewVerdict.reject and not reviewer.may_decide():
        return refuse_role(reviewer, "reject")
    return None

