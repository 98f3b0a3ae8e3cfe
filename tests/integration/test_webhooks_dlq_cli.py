"""``revloop webhook dlq list|redrive`` against the real SQLite inbox in the data directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.webhooks.inbox import WebhookInbox
from connectors.webhooks.port import NewDelivery
from revloop.commands.webhooks import webhooks_app
from revloop.settings import load_settings
from revloop.wiring import state_url

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebhookInbox:
    monkeypatch.setenv("REVLOOP_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings()
    settings.paths.ensure()
    inbox = WebhookInbox(state_url(settings))
    inbox.store_many([NewDelivery("acme", "demo", f"msg_{n}", AT, b'{"n": %d}' % n, f"{n:032x}")
                      for n in range(3)])
    for event in inbox.pending()[:2]:
        inbox.mark_dead(event.id, f"UnsupportedEvent: no record_id in {event.delivery_id}")
    return inbox


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(webhooks_app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_dlq_list_shows_each_dead_letter_with_its_error(inbox: WebhookInbox) -> None:
    code, out, err = run("dlq", "list")
    assert code == 0 and "2 dead letter(s)" in err
    assert "msg_0" in out and "UnsupportedEvent: no record_id in msg_1" in out and "msg_2" not in out
    code, out, _ = run("dlq", "list", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["delivery_id"], r["trace_id"]) for r in rows] == [("msg_0", f"{0:032x}"),
                                                                  ("msg_1", f"{1:032x}")]


def test_dlq_redrive_by_id_then_all(inbox: WebhookInbox) -> None:
    first = inbox.dead_letters()[0]
    code, output = run("dlq", "redrive", first.id)[:2]
    assert code == 0 and output.startswith("re-drove 1 dead letter(s); the webhook sensor launches")
    assert [d.delivery_id for d in inbox.dead_letters()] == ["msg_1"]
    assert sorted(e.delivery_id for e in inbox.pending()) == ["msg_0", "msg_2"]
    code, output = run("dlq", "redrive", "--all")[:2]
    assert code == 0 and output.startswith("re-drove 1 dead letter(s);")
    assert inbox.dead_letters() == []


def test_dlq_redrive_refuses_unknown_ids_and_ambiguous_arguments(inbox: WebhookInbox) -> None:
    code, _, err = run("dlq", "redrive", "424242")
    assert code == 1 and "no dead letter with id 424242" in err
    assert run("dlq", "redrive")[0] == 2
    assert run("dlq", "redrive", "1", "--all")[0] == 2
    assert len(inbox.dead_letters()) == 2
