"""The JSON API's review actions beyond approve/reject: edits, questions, identity, SLA in listings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.status import ProposalStatus
from tests.integration.test_actions_web_support import ReviewEnv


@pytest.fixture
def env(tmp_path: Path) -> ReviewEnv:
    return ReviewEnv(tmp_path)


def test_me_reports_roles_and_the_approval_ceiling(env: ReviewEnv) -> None:
    me = env.client().get("/api/me", headers=env.bearer("rita")).json()
    assert me == {"reviewer": "rita", "via": "local", "tenants": ["acme"],
                  "roles": ["approver:L1", "reviewer"], "may_approve_up_to": "L1"}


def test_listing_carries_sla_and_filters(env: ReviewEnv) -> None:
    env.loop.clock.advance(timedelta(hours=73))
    listed = env.client().get("/api/proposals?sla=overdue&risk_tier=L2", headers=env.bearer("rita")).json()
    [only] = listed["proposals"]
    assert only["proposal_id"] == "p-update" and only["sla"]["state"] == "overdue"
    assert only["sla"]["window_seconds"] == 72 * 3600
    bad = env.client().get("/api/proposals?older_than=soon", headers=env.bearer("rita"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "unknown_filter"


def test_edit_through_the_api(env: ReviewEnv) -> None:
    api, headers = env.client(), env.bearer("rita")
    url = "/api/proposals/p-task/edits"
    base = {"rationale": "shorter", "arguments_digest": env.task.arguments_digest}
    invalid = api.post(url, headers=headers, json={**base, "arguments": {"subject": "", "due_in_days": 2}})
    assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "invalid_arguments"
    assert any(p.startswith("subject") for p in invalid.json()["error"]["problems"])
    stale = api.post(url, headers=headers, json={**base, "arguments_digest": "0" * 64,
                                                  "arguments": {"subject": "Call", "due_in_days": 2}})
    assert stale.status_code == 409
    done = api.post(url, headers=headers, json={**base, "arguments": {"subject": "Call", "due_in_days": 2},
                                                "reviewer": "mallory"})
    assert done.status_code == 201 and done.json()["version"] == 2
    [entry] = env.loop.ledger.entries("acme", kind="proposal.edited")
    assert entry.actor == "rita", "identity from authentication, never from the body"
    assert env.loop.store.get("p-task").status is ProposalStatus.pending_policy  # type: ignore[union-attr]
    viewer = api.post(url, headers=env.bearer("vic"), json={**base, "arguments": {"subject": "x"}})
    assert viewer.status_code == 403


def test_info_request_through_the_api(env: ReviewEnv) -> None:
    api = env.client()
    url = "/api/proposals/p-update/info-requests"
    assert api.post(url, headers=env.bearer("rita"), json={"question": " "}).status_code == 422
    assert api.post(url, headers=env.bearer("rita"), json={}).status_code == 422
    asked = api.post(url, headers=env.bearer("rita"), json={"question": "Is opp-9 really stale?"})
    assert asked.status_code == 201 and asked.json()["status"] == "info_requested"
    again = api.post(url, headers=env.bearer("rita"), json={"question": "And?"})
    assert again.status_code == 409, "only a proposal awaiting review can be questioned"


def test_session_cookie_writes_need_the_csrf_header(env: ReviewEnv) -> None:
    client = env.client("rita")
    body = {"question": "why?"}
    assert client.post("/api/proposals/p-task/info-requests", json=body).status_code == 403
    reviewer = env.auth.reviewer("rita")
    assert reviewer is not None
    ok = client.post("/api/proposals/p-task/info-requests", json=body,
                     headers={"X-CSRF-Token": env.auth.csrf_token(reviewer)})
    assert ok.status_code == 201


def test_openapi_lists_every_api_route_with_self_contained_bodies(env: ReviewEnv) -> None:
    spec = env.app.openapi()
    assert {"/api/me", "/api/proposals/{proposal_id}/edits",
            "/api/proposals/{proposal_id}/info-requests"} <= set(spec["paths"])
    assert "#/$defs/" not in str(spec)
    edit = spec["paths"]["/api/proposals/{proposal_id}/edits"]["post"]
    assert edit["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "arguments", "rationale", "arguments_digest"]
