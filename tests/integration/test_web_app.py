"""The assembled web app (revloop.app.create_app) on a fresh data directory."""

from __future__ import annotations

import stat
from pathlib import Path

from fastapi.testclient import TestClient

from revloop.app import create_app, session_secret
from revloop.settings import load_settings


def test_app_serves_review_and_webhooks_on_a_fresh_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", demo_tenants="acme,globex")
    client = TestClient(create_app(settings), follow_redirects=False)
    assert client.get("/healthz").json()["status"] == "ok"
    login = client.get("/login").text
    assert "demo-reviewer" in login and "acme-reviewer" in login
    assert client.post("/login", data={"username": "demo-reviewer"}).status_code == 303
    assert client.get("/review?tenant=acme").status_code == 200
    assert client.get("/review?tenant=globex").status_code == 200
    assert client.get("/review?tenant=initech").status_code == 404
    unsigned = client.post("/webhooks/demo?tenant=acme", content=b"{}",
                           headers={"content-type": "application/json"})
    assert unsigned.status_code in (400, 401), "the webhook receiver is mounted and verifies signatures"
    assert (settings.paths.secrets / "webhooks.json").exists()


def test_single_tenant_reviewer_sees_only_their_tenant(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", demo_tenants="acme,globex")
    client = TestClient(create_app(settings), follow_redirects=False)
    client.post("/login", data={"username": "acme-reviewer"})
    assert client.get("/review?tenant=acme").status_code == 200
    assert client.get("/review?tenant=globex").status_code == 404


def test_session_key_is_generated_once_private_and_reused(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data")
    first = TestClient(create_app(settings), follow_redirects=False)
    first.post("/login", data={"username": "demo-reviewer"})
    key_file = settings.paths.secrets / "session.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = TestClient(create_app(settings), follow_redirects=False)
    second.cookies.set("revloop_session", first.cookies.get("revloop_session") or "")
    assert second.get("/review").status_code == 200, "a restart keeps sessions valid"


def test_configured_session_secret_wins(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", session_secret="s" * 40)
    assert session_secret(settings) == "s" * 40
    assert not (settings.paths.secrets / "session.key").exists()
