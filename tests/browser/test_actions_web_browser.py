"""Playwright drives Debian's Chromium through the review UI: log in, filter, open, edit, approve, and
see the result (status, executed action, ledger trail). Screenshots: test-artifacts/browser/."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import ReviewServer
from tests.integration.test_actions_web_support import CANARY


def _log_in(page: Page, server: ReviewServer, user: str, start: str = "/review") -> None:
    page.goto(server.base + start)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("User").select_option(user)
    page.get_by_role("button", name="Log in").click()


def _rows(page: Page) -> list[str]:
    return page.locator("tbody tr td:first-child a").all_inner_texts()


def test_reviewer_filters_opens_edits_approves_and_sees_the_result(
        page: Page, review_server: ReviewServer, screenshots: Path) -> None:
    env = review_server.env
    page.goto(review_server.base + "/review")
    page.screenshot(path=screenshots / "01-login.png", full_page=True)
    _log_in(page, review_server, "ada")
    expect(page.get_by_role("heading", name="Proposals of acme")).to_be_visible()
    assert _rows(page)[0] == "p-brief", "the overdue proposal comes first"
    expect(page.locator("tr.overdue")).to_contain_text("OVERDUE")
    expect(page.locator(".sla-due_soon")).to_contain_text("Due soon")
    page.screenshot(path=screenshots / "02-inbox.png", full_page=True)

    page.get_by_label("Risk tier").select_option("L1")
    page.get_by_label("Action type").select_option("crm.create_task")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"risk_tier=L1.*action_type=crm.create_task"))
    assert sorted(_rows(page)) == ["p-task", "p-task-2"]
    page.get_by_label("Account").fill("acc-1")
    page.get_by_label("Account").press("Enter")
    assert _rows(page) == ["p-task"]
    page.screenshot(path=screenshots / "03-inbox-filtered.png", full_page=True)

    page.get_by_role("link", name="p-task", exact=True).click()
    expect(page.get_by_role("heading", name="What would change in the CRM")).to_be_visible()
    expect(page.locator("blockquote")).to_have_text("QBR notes mention budget cuts")
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.screenshot(path=screenshots / "04-detail.png", full_page=True)

    page.get_by_label("Due In Days (required)").fill("400")
    page.get_by_label("Why you change them (required)").fill("A shorter deadline")
    page.get_by_role("button", name="Save as version 2").click()
    error = page.locator("#arg-due_in_days-error")
    expect(error).to_contain_text("less than or equal to 90")
    expect(page.get_by_label("Due In Days (required)")).to_have_attribute("aria-invalid", "true")
    page.locator("#edit").scroll_into_view_if_needed()
    page.screenshot(path=screenshots / "05-edit-error.png", full_page=True)
    page.get_by_label("Due In Days (required)").fill("1")
    page.get_by_role("button", name="Save as version 2").click()
    expect(page.get_by_role("status")).to_contain_text("Saved version 2 of p-task")
    expect(page.locator("#status")).to_have_text("pending_policy")

    env.run_policy()  # the policy stage runs between the edit and the next review
    page.reload()
    expect(page.locator("#status")).to_have_text("needs_approval")
    page.get_by_label("Rationale (required)").fill("Deadline fixed; go ahead")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Proposal p-task approved. Thank you, ada.")
    expect(page.locator("#status")).to_have_text("approved")
    page.screenshot(path=screenshots / "06-approved.png", full_page=True)

    env.loop.executor.execute_ready(tenant="acme")
    page.reload()
    expect(page.locator("#status")).to_have_text("executed")
    expect(page.get_by_role("heading", name="Result")).to_be_visible()
    trail = page.locator("section[aria-labelledby=trail]")
    for kind in ("proposal.edited", "review.decided", "action.attempted", "action.completed"):
        expect(trail).to_contain_text(kind)
    page.screenshot(path=screenshots / "07-executed-with-ledger.png", full_page=True)
    assert env.loop.crm.mutations == 1


def test_reviewer_below_the_tier_sees_no_approve_and_no_other_tenant(
        page: Page, review_server: ReviewServer, screenshots: Path) -> None:
    _log_in(page, review_server, "rita", start="/review/p-update")
    expect(page.get_by_role("heading", name=re.compile("crm.update_field"))).to_be_visible()
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)
    expect(page.get_by_role("button", name="Reject")).to_be_visible()
    expect(page.locator("#approve-note")).to_contain_text("you may approve up to L1")
    expect(page.locator("td.before").first).to_have_text("negotiation")
    expect(page.locator("td.after").first).to_have_text("at_risk")
    page.screenshot(path=screenshots / "08-detail-reviewer-l1.png", full_page=True)
    response = page.goto(review_server.base + "/review/g-1")
    assert response is not None and response.status == 404
    assert CANARY not in page.content()
    response = page.goto(review_server.base + "/review?tenant=globex")
    assert response is not None and response.status == 404


def test_keyboard_only_log_in_and_filter(page: Page, review_server: ReviewServer) -> None:
    page.goto(review_server.base + "/login")
    expect(page.locator(":focus")).to_have_id("username")  # autofocus on the user picker
    page.keyboard.press("Shift+Tab")
    expect(page.locator(":focus")).to_have_text("Skip to content")
    page.keyboard.press("Tab")
    page.keyboard.type("vic")  # a select picks the option starting with what is typed
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Log in")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Proposals of acme")).to_be_visible()
    page.get_by_label("Status", exact=True).focus()
    order = []
    for _ in range(8):
        order.append(page.evaluate("document.activeElement.id || document.activeElement.textContent"))
        page.keyboard.press("Tab")
    assert order[:7] == ["f-status", "f-risk", "f-action", "f-account", "f-age", "f-sla", "Filter"]
    page.get_by_role("link", name="p-update", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("You have view access only.")).to_be_visible()
