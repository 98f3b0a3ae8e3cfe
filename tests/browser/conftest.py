"""Browser-test fixtures: Debian's Chromium (installed by scripts/ensure_chromium.sh when missing), the
review app served by uvicorn on a free loopback port over a seeded store, and Playwright driving it.

Screenshots go to test-artifacts/browser/ at the repository root."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from decisioning.contracts import ActionType, PolicyOutcome, RiskTier
from tests.integration.test_actions_support import T0, make_proposal
from tests.integration.test_actions_web_support import ReviewEnv

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = ROOT / "test-artifacts" / "browser"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed(env: ReviewEnv) -> None:
    """More proposals of acme, waiting for different times: on time, due soon, overdue."""
    clock = env.loop.clock
    extra = [
        ("p-brief", 80, ActionType.draft_meeting_brief, RiskTier.L0, "acc-4",
         {"title": "Renewal prep", "sections": [{"heading": "Risks", "body": "Champion left in May"}]}),
        ("p-notify", 60, ActionType.notify_owner, RiskTier.L0, "acc-3",
         {"recipient": "ana@acme.test", "subject": "Usage dropped", "message": "Active users fell 66%."}),
        ("p-task-2", 30, ActionType.crm_create_task, RiskTier.L1, "acc-3",
         {"subject": "Book a QBR", "body": "", "due_in_days": 7, "owner": "ana@acme.test"}),
    ]
    for proposal_id, hours, action, tier, account, arguments in extra:
        clock.now = T0 - timedelta(hours=hours)
        proposal = make_proposal(proposal_id, action_type=action, arguments=arguments, account_id=account,
                                 created_at=clock.now)
        env.loop.submit(proposal.model_copy(update={"risk_tier": tier}), PolicyOutcome.needs_approval)
    clock.now = T0


class ReviewServer:
    def __init__(self, env: ReviewEnv) -> None:
        self.env = env
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(env.app, host="127.0.0.1", port=self.port,
                                                     log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> ReviewServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                pytest.fail(f"the review app did not start on {self.base}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium() -> str:
    script = ROOT / "scripts" / "ensure_chromium.sh"
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is required for the browser tests and could not be installed by {script}:\n"
                    f"{done.stderr or done.stdout}", pytrace=False)
    return CHROMIUM


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread
# while it is open, which would break every later test that starts its own event loop.
@pytest.fixture(scope="module")
def playwright_session() -> Iterator[Playwright]:
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def browser(chromium: str, playwright_session: Playwright) -> Iterator[Browser]:
    browser = playwright_session.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def review_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewServer]:
    env = ReviewEnv(tmp_path_factory.mktemp("review-browser"))
    seed(env)
    with ReviewServer(env) as server:
        yield server


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
