"""The review pages over a real SQLite store: inbox filters and SLA, detail, roles, edit, questions."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from actions.status import ProposalStatus
from decisioning.contracts import PolicyOutcome
from tests.integration.test_actions_web_support import CANARY, ReviewEnv, hidden_fields


@pytest.fixture
def env(tmp_path: Path) -> ReviewEnv:
    return ReviewEnv(tmp_path)


def _listed(html: str) -> list[str]:
    return re.findall(r'<a href="/review/([\w-]+)">', html)


def test_inbox_filters_by_risk_action_account_and_age(env: ReviewEnv) -> None:
    client = env.client("rita")
    assert sorted(_listed(client.get("/review").text)) == ["p-task", "p-update"]
    assert _listed(client.get("/review?risk_tier=L2").text) == ["p-update"]
    assert _listed(client.get("/review?action_type=crm.create_task").text) == ["p-task"]
    assert _listed(client.get("/review?account_id=acc-2").text) == ["p-update"]
    assert _listed(client.get("/review?older_than=1h").text) == []
    env.loop.clock.advance(timedelta(hours=5))
    assert sorted(_listed(client.get("/review?older_than=4h&risk_tier=").text)) == ["p-task", "p-update"]
    assert client.get("/review?older_than=forever").status_code == 422
    page = client.get("/review?risk_tier=L2").text
    assert '<option value="L2" selected>' in page, "the filter form shows what is applied"
    assert '<label for="f-risk">' in page and 'accesskey="f"' in page


def test_inbox_marks_overdue_proposals_and_sorts_them_first(env: ReviewEnv) -> None:
    client = env.client("rita")
    page = client.get("/review").text
    assert "3d left" in page and "OVERDUE" not in page
    env.loop.clock.advance(timedelta(hours=60))
    assert "Due soon: 12h left" in client.get("/review").text
    env.loop.clock.advance(timedelta(hours=14))
    page = client.get("/review").text
    assert 'class="overdue"' in page and "OVERDUE by 2h" in page
    assert sorted(_listed(client.get("/review?sla=overdue").text)) == ["p-task", "p-update"]
    assert _listed(client.get("/review?sla=on_time").text) == []


def test_detail_shows_crm_preview_evidence_and_memory_source(env: ReviewEnv) -> None:
    page = env.client("rita").get("/review/p-update").text
    assert ">negotiation<" in page and ">at_risk<" in page and "(version 1)" in page
    assert ">120<" in page and ">41<" in page
    assert "from <strong>crm_note</strong> (score 0.83)" in page
    assert "<blockquote>QBR notes mention budget cuts</blockquote>" in page
    assert "Account:acc-1 -&gt; WORKS_AT -&gt; Contact:c3" in page
    assert CANARY not in page
    task = env.client("rita").get("/review/p-task").text
    assert "new task" in task and "(new record)" in task and ">Call the new champion<" in task


def test_approve_is_hidden_and_refused_above_the_reviewers_tier(env: ReviewEnv) -> None:
    client = env.client("rita")
    page = client.get("/review/p-update").text
    assert 'value="approve"' not in page and 'value="reject"' in page
    assert "needs approver:L2 or admin; you may approve up to L1" in page
    form = {**hidden_fields(page), "verdict": "approve", "rationale": "looks fine"}
    refused = client.post("/review/p-update/decision", data=form)
    assert refused.status_code == 403 and "may approve up to L1" in refused.text
    assert env.loop.store.get("p-update").status is ProposalStatus.needs_approval  # type: ignore[union-attr]
    assert 'value="approve"' in client.get("/review/p-task").text, "L1 is within rita's tier"
    ada = env.client("ada")
    page = ada.get("/review/p-update").text
    assert 'value="approve"' in page
    done = ada.post("/review/p-update/decision",
                    data={**hidden_fields(page), "verdict": "approve", "rationale": "stale stage"})
    assert done.status_code == 303
    assert env.loop.store.get("p-update").status is ProposalStatus.approved  # type: ignore[union-attr]


def test_viewer_reads_but_cannot_decide_edit_or_ask(env: ReviewEnv) -> None:
    client = env.client("vic")
    page = client.get("/review/p-task")
    assert page.status_code == 200 and "You have view access only." in page.text
    assert "<form method=\"post\" action=\"/review/p-task" not in page.text
    fields = {**hidden_fields(env.client("rita").get("/review/p-task").text),
              "csrf_token": env.auth.csrf_token(env.auth.reviewer("vic"))}  # type: ignore[arg-type]
    for path, extra in (("decision", {"verdict": "reject", "rationale": "no"}),
                        ("edit", {"arg.subject": "x", "arg.due_in_days": "1", "rationale": "r"}),
                        ("info-request", {"question": "why?"})):
        response = client.post(f"/review/p-task/{path}", data={**fields, **extra})
        assert response.status_code == 403, path
    assert env.loop.store.get("p-task").status is ProposalStatus.needs_approval  # type: ignore[union-attr]


def test_identity_without_a_role_gets_403(env: ReviewEnv) -> None:
    client = env.client("nora")
    assert client.get("/review").status_code == 403
    assert client.get("/review/p-task").status_code == 403
    assert "no revloop role" in client.get("/outbox").text


def test_edit_shows_errors_next_to_fields_then_saves_a_new_version(env: ReviewEnv) -> None:
    client = env.client("rita")
    page = client.get("/review/p-task").text
    form = {**hidden_fields(page), "arg.subject": "Call Ana today", "arg.body": "Usage dropped 40%",
            "arg.due_in_days": "400", "arg.owner": "ana@acme.test", "rationale": "sooner is better"}
    bad = client.post("/review/p-task/edit", data=form)
    assert bad.status_code == 422
    assert re.search(r'aria-describedby="arg-due_in_days-error"', bad.text)
    assert re.search(r'id="arg-due_in_days-error">[^<]*less than or equal to 90', bad.text)
    assert 'value="400"' in bad.text and 'value="Call Ana today"' in bad.text, "what was typed is kept"
    assert env.loop.store.get("p-task").proposal.version == 1  # type: ignore[union-attr]
    no_reason = client.post("/review/p-task/edit", data={**form, "arg.due_in_days": "1", "rationale": " "})
    assert no_reason.status_code == 422 and 'id="edit-rationale-error"' in no_reason.text
    saved = client.post("/review/p-task/edit", data={**form, "arg.due_in_days": "1"})
    assert saved.status_code == 303
    assert "Saved version 2 of p-task" in client.get("/review/p-task").text
    stored = env.loop.store.get("p-task")
    assert stored is not None and stored.proposal.version == 2
    assert stored.status is ProposalStatus.pending_policy
    assert stored.proposal.arguments["due_in_days"] == 1
    assert stored.proposal.arguments["subject"] == "Call Ana today"
    [edited] = env.loop.ledger.entries("acme", kind="proposal.edited")
    assert edited.actor == "rita" and edited.payload["version"] == 2
    replay = client.post("/review/p-task/edit", data={**form, "arg.due_in_days": "2"})
    assert replay.status_code == 303 and "changed since you opened it" in client.get("/review/p-task").text


def test_approval_after_an_edit_binds_to_the_new_digest(env: ReviewEnv) -> None:
    client = env.client("rita")
    old = hidden_fields(client.get("/review/p-task").text)
    client.post("/review/p-task/edit", data={**old, "arg.subject": "Call Ana", "arg.due_in_days": "2",
                                             "rationale": "clearer"})
    env.run_policy(PolicyOutcome.needs_approval)
    stale = client.post("/review/p-task/decision", data={**old, "verdict": "approve", "rationale": "ok"})
    assert stale.status_code == 303 and "arguments changed" in client.get("/review/p-task").text
    fresh = hidden_fields(client.get("/review/p-task").text)
    assert fresh["arguments_digest"] != old["arguments_digest"]
    client.post("/review/p-task/decision", data={**fresh, "verdict": "approve", "rationale": "ok"})
    stored = env.loop.store.get("p-task")
    assert stored is not None and stored.status is ProposalStatus.approved and stored.proposal.version == 2
    page = client.get("/review/p-task").text
    assert "Ledger trail" in page and "review.decided" in page and "proposal.edited" in page


def test_request_info_puts_the_proposal_on_hold_with_the_question(env: ReviewEnv) -> None:
    client = env.client("rita")
    fields = hidden_fields(client.get("/review/p-task").text)
    empty = client.post("/review/p-task/info-request", data={**fields, "question": "  "})
    assert empty.status_code == 303 and "question is required" in client.get("/review/p-task").text
    client.post("/review/p-task/info-request", data={**fields, "question": "Who is the new champion?"})
    page = client.get("/review/p-task").text
    assert "Question sent" in page and "Who is the new champion?" in page and "not answered yet" in page
    assert env.loop.store.get("p-task").status is ProposalStatus.info_requested  # type: ignore[union-attr]
    assert 'value="approve"' not in page, "no decision while the question is open"
    [asked] = env.loop.ledger.entries("acme", kind="review.info_requested")
    assert asked.actor == "rita"


def test_login_page_offers_single_sign_on_only_when_configured(env: ReviewEnv) -> None:
    page = env.client().get("/login").text
    assert "Local development login" in page and "/auth/oidc/login" not in page
    assert env.client().get("/auth/oidc/login").status_code == 404
