"""The review pages and JSON API through a real FastAPI app on SQLite (TestClient)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from actions.auth import ReviewerAuth
from actions.status import ProposalStatus
from actions.web import build_review_router
from decisioning.contracts import ActionType, Citation, PolicyOutcome
from tests.integration.test_actions_support import Loop, make_proposal
from tests.integration.test_actions_web_support import review_signal

SECRET = "test-secret-" + "x" * 40
CANARY = "GLOBEX-CANARY-7731"


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.loop = Loop(tmp_path)
        acme_signal = review_signal("acme", "Active users fell from 120 to 41")
        globex_signal = review_signal("globex", f"secret globex narrative {CANARY}")
        self.signals = {acme_signal.signal_id: acme_signal, globex_signal.signal_id: globex_signal}
        self.loop.crm.put("acme", "opportunities", "opp-9", stage="negotiation", amount=50000)
        evidence = [Citation(kind="signal", ref=acme_signal.signal_id),
                    Citation(kind="signal", ref=globex_signal.signal_id),
                    Citation(kind="graph_path", ref="Account:acc-1 -> WORKS_AT -> Contact:c3",
                             detail="champion"),
                    Citation(kind="memory_hit", ref="mem-42", detail="QBR notes mention budget cuts")]
        self.task = self.loop.submit(make_proposal("p-task", evidence=evidence), PolicyOutcome.needs_approval)
        self.update = self.loop.submit(make_proposal(
            "p-update", action_type=ActionType.crm_update_field, evidence=evidence,
            arguments={"object": "opportunities", "record_id": "opp-9", "field": "stage",
                       "value": "at_risk"}), PolicyOutcome.needs_approval)
        self.globex = self.loop.submit(make_proposal(
            "g-1", tenant="globex", arguments={"subject": CANARY, "due_in_days": 1}),
            PolicyOutcome.needs_approval)
        self.auth = ReviewerAuth({"rita": {"acme"}, "gus": {"globex"}, "demo": {"acme", "globex"}}, SECRET)
        app = FastAPI()
        app.include_router(build_review_router(self.loop.store, self.loop.review, self.signals.get,
                                               self.auth, record_lookup=self.loop.crm.get_record))
        self.app = app

    def client(self, user: str | None = None) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        if user is not None:
            response = client.post("/login", data={"username": user, "next": "/review"})
            assert response.status_code == 303
        return client

    def bearer(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.issue_token(user)}"}


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def _form_fields(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', html))


def test_healthz_needs_no_login(env: Env) -> None:
    assert env.client().get("/healthz").json()["status"] == "ok"


def test_login_lists_local_users_and_sets_a_session(env: Env) -> None:
    client = env.client()
    page = client.get("/login?next=/review/p-task")
    assert page.status_code == 200 and '<option value="rita">' in page.text
    response = client.post("/login", data={"username": "rita", "next": "/review/p-task"})
    assert response.status_code == 303 and response.headers["location"] == "/review/p-task"
    assert client.get("/review/p-task").status_code == 200


def test_login_refuses_unknown_users_and_foreign_redirects(env: Env) -> None:
    client = env.client()
    assert client.post("/login", data={"username": "mallory"}).status_code == 401
    response = client.post("/login", data={"username": "rita", "next": "//evil.example/x"})
    assert response.headers["location"] == "/review"


def test_pages_without_login_redirect_to_login(env: Env) -> None:
    client = env.client()
    for path in ("/review", "/review/p-task", "/outbox"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    response = client.post("/review/p-task/decision", data={
        "verdict": "approve", "rationale": "x", "arguments_digest": env.task.arguments_digest})
    assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert env.loop.store.get("p-task").status is ProposalStatus.needs_approval  # type: ignore[union-attr]


def test_api_without_credentials_is_401(env: Env) -> None:
    client = env.client()
    assert client.get("/api/proposals").status_code == 401
    assert client.get("/api/proposals/p-task").status_code == 401
    response = client.post("/api/proposals/p-task/decisions", json={
        "verdict": "approve", "rationale": "x", "arguments_digest": env.task.arguments_digest})
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    forged = ReviewerAuth({"rita": {"acme"}}, "another-secret-" + "y" * 40).issue_token("rita")
    assert client.get("/api/proposals", headers={"Authorization": f"Bearer {forged}"}).status_code == 401


def test_tampered_session_cookie_is_not_a_login(env: Env) -> None:
    client = env.client("rita")
    value = client.cookies.get("revloop_session")
    assert value
    tampered = env.client()
    tampered.cookies.set("revloop_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert tampered.get("/review").status_code == 303
    genuine = env.client()
    genuine.cookies.set("revloop_session", value)
    assert genuine.get("/review").status_code == 200


def test_inbox_lists_pending_proposals_of_the_tenant(env: Env) -> None:
    page = env.client("rita").get("/review?tenant=acme&status=pending")
    assert page.status_code == 200
    for text in ("p-task", "p-update", "crm.update_field", "acc-1", "L1", "80%",
                 "Usage fell after the champion left"):
        assert text in page.text
    assert "g-1" not in page.text and CANARY not in page.text
    assert env.client("rita").get("/review?status=bogus").status_code == 422


def test_detail_shows_evidence_preview_and_a_bound_form(env: Env) -> None:
    page = env.client("rita").get("/review/p-update")
    assert page.status_code == 200
    assert "Active users fell from 120 to 41" in page.text
    assert ">120<" in page.text and ">41<" in page.text
    assert "Account:acc-1 -&gt; WORKS_AT -&gt; Contact:c3" in page.text
    assert "QBR notes mention budget cuts" in page.text
    assert CANARY not in page.text, "a signal of another tenant is never shown"
    assert ">negotiation<" in page.text and ">at_risk<" in page.text
    fields = _form_fields(page.text)
    assert fields["arguments_digest"] == env.update.arguments_digest
    assert fields["record_version"] == "1" and fields["csrf_token"]


def test_approve_through_the_form_once(env: Env) -> None:
    client = env.client("rita")
    fields = _form_fields(client.get("/review/p-update").text)
    form = {**fields, "verdict": "approve", "rationale": "stage is stale", "reviewer": "mallory"}
    response = client.post("/review/p-update/decision", data=form)
    assert response.status_code == 303 and response.headers["location"] == "/review/p-update"
    assert "Proposal p-update approved. Thank you, rita." in client.get("/review/p-update").text
    stored = env.loop.store.get("p-update")
    assert stored is not None and stored.status is ProposalStatus.approved
    assert stored.review is not None
    assert stored.review.reviewer == "rita" and stored.review.record_version == 1
    again = client.post("/review/p-update/decision", data=form)
    assert again.status_code == 303
    assert "already approved" in client.get("/review/p-update").text
    [entry] = env.loop.ledger.entries("acme", kind="review.decided")
    assert entry.actor == "rita"
    env.loop.executor.execute_ready()
    env.loop.executor.execute_ready()
    assert env.loop.crm.mutations == 1
    assert env.loop.crm.get_record("acme", "opportunities", "opp-9")["stage"] == "at_risk"  # type: ignore[index]


def test_form_with_a_bad_csrf_token_or_missing_rationale_changes_nothing(env: Env) -> None:
    client = env.client("rita")
    fields = _form_fields(client.get("/review/p-task").text)
    client.post("/review/p-task/decision", data={**fields, "csrf_token": "forged", "verdict": "approve",
                                                 "rationale": "ok"})
    assert "CSRF" in client.get("/review/p-task").text
    client.post("/review/p-task/decision", data={**fields, "verdict": "approve", "rationale": ""})
    assert "rationale is required" in client.get("/review/p-task").text
    assert env.loop.store.get("p-task").status is ProposalStatus.needs_approval  # type: ignore[union-attr]


def test_approve_through_the_api_with_a_bearer_token(env: Env) -> None:
    client = env.client("rita")
    token = client.get("/api/token").json()["token"]
    api = env.client()
    headers = {"Authorization": f"Bearer {token}"}
    listed = api.get("/api/proposals?tenant=acme&status=pending", headers=headers).json()
    assert {p["proposal_id"] for p in listed["proposals"]} == {"p-task", "p-update"}
    detail = api.get("/api/proposals/p-task", headers=headers).json()
    assert detail["evidence"][0]["signal"]["evidence"][0]["before"] == 120
    assert detail["evidence"][1]["signal"] is None
    body = {"verdict": "approve", "rationale": "do it", "arguments_digest": detail["arguments_digest"],
            "reviewer": "mallory"}
    response = api.post("/api/proposals/p-task/decisions", json=body, headers=headers)
    assert response.status_code == 201
    assert response.json()["reviewer"] == "rita" and response.json()["verdict"] == "approve"
    again = api.post("/api/proposals/p-task/decisions", json=body, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_awaiting_review"


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"verdict": "approve", "rationale": "ok", "arguments_digest": "0" * 64}, 409,
     "arguments_digest_mismatch"),
    ({"verdict": "approve", "rationale": " ", "arguments_digest": None}, 422, "rationale_required"),
    ({"verdict": "maybe", "rationale": "ok", "arguments_digest": "x"}, 422, "invalid_request"),
    ({"rationale": "ok"}, 422, "invalid_request"),
])
def test_api_refusals_are_typed(env: Env, body: dict[str, object], status: int, code: str) -> None:
    if body.get("arguments_digest", "") is None:
        body = {**body, "arguments_digest": env.task.arguments_digest}
    response = env.client().post("/api/proposals/p-task/decisions", json=body, headers=env.bearer("rita"))
    assert response.status_code == status and response.json()["error"]["code"] == code
    assert env.loop.store.get("p-task").status is ProposalStatus.needs_approval  # type: ignore[union-attr]


def test_api_with_a_session_cookie_needs_the_csrf_header(env: Env) -> None:
    client = env.client("rita")
    body = {"verdict": "approve", "rationale": "ok", "arguments_digest": env.task.arguments_digest}
    assert client.post("/api/proposals/p-task/decisions", json=body).status_code == 403
    csrf = _form_fields(client.get("/review/p-task").text)["csrf_token"]
    response = client.post("/api/proposals/p-task/decisions", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201


def test_another_tenants_data_is_404_on_every_page_and_endpoint(env: Env) -> None:
    client = env.client("rita")
    bearer = env.bearer("rita")
    digest = env.globex.arguments_digest
    form = {**_form_fields(client.get("/review/p-task").text), "verdict": "approve", "rationale": "x",
            "arguments_digest": digest}
    responses = [
        client.get("/review?tenant=globex"),
        client.get("/review/g-1"),
        client.post("/review/g-1/decision", data=form),
        client.get("/outbox?tenant=globex"),
        client.get("/api/proposals?tenant=globex", headers=bearer),
        client.get("/api/proposals/g-1", headers=bearer),
        client.post("/api/proposals/g-1/decisions", headers=bearer,
                    json={"verdict": "approve", "rationale": "x", "arguments_digest": digest}),
    ]
    assert [r.status_code for r in responses] == [404] * len(responses)
    assert not any(CANARY in r.text for r in responses)
    assert env.loop.store.get("g-1").status is ProposalStatus.needs_approval  # type: ignore[union-attr]
    unknown = client.get("/api/proposals/nope", headers=bearer).json()["error"]
    foreign = client.get("/api/proposals/g-1", headers=bearer).json()["error"]
    assert unknown["code"] == foreign["code"] == "proposal_not_found", "foreign looks exactly like missing"
    assert env.client("gus").get("/review/g-1").status_code == 200


def test_outbox_shows_notifications_sent(env: Env) -> None:
    env.loop.submit(make_proposal("n-1", action_type=ActionType.notify_owner, arguments={
        "recipient": "ana@acme.test", "subject": "Heads up", "message": "Usage dropped sharply"}),
        PolicyOutcome.automatic)
    env.loop.executor.execute_ready()
    page = env.client("rita").get("/outbox")
    assert page.status_code == 200 and "Usage dropped sharply" in page.text and "ana@acme.test" in page.text
    assert "Usage dropped sharply" not in env.client("gus").get("/outbox").text


def test_openapi_is_self_contained_and_lists_the_api(env: Env) -> None:
    spec = env.app.openapi()
    assert {"/api/proposals", "/api/proposals/{proposal_id}", "/api/proposals/{proposal_id}/decisions",
            "/healthz"} <= set(spec["paths"])
    assert "#/$defs/" not in str(spec)
