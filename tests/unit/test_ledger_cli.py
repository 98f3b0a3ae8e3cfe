"""``revloop ledger`` commands: checkpoint, verify against it, prove an entry, refuse a tampered ledger."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger.note import parse_verifier_key
from ledger.proofs import verify_bundle
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from revloop.commands.ledger import app


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    ledger = Ledger(sqlite_url(tmp_path / "state.sqlite"))
    ledger.append_many([NewEntry(t, "signal.raised", "perception", {"i": i})
                        for i in range(5) for t in ("acme", "globex")])
    return {"REVLOOP_DATA_DIR": str(tmp_path)}


def run(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_checkpoint_then_verify_then_prove(env: dict[str, str], tmp_path: Path) -> None:
    code, out = run(env, "checkpoint")
    assert code == 0, out
    assert "acme: 5 entries" in out and "globex: 5 entries" in out
    vkey = out.strip().splitlines()[-1].removeprefix("verifier key: ")
    assert (tmp_path / "secrets" / "ledger-checkpoint.pem").stat().st_mode & 0o777 == 0o600
    assert "PRIVATE" not in out
    assert sorted(p.name for p in (tmp_path / "checkpoints" / "acme").iterdir()) == [
        "00000000000000000005.note"]
    code, out = run(env, "checkpoint")
    assert "unchanged since the last checkpoint" in out

    code, out = run(env, "verify", "--verifier-key", vkey)
    assert code == 0, out
    assert "acme: checkpoint of 5 entries holds" in out and "ledger OK: 10 entries, 2 checkpoints" in out

    code, out = run(env, "prove", "acme:3")
    assert code == 0, out
    bundle = json.loads(out)
    verify_bundle(bundle, parse_verifier_key(vkey)[1])
    code, by_hash = run(env, "prove", bundle["entry"]["entry_hash"])
    assert json.loads(by_hash)["entry"]["seq"] == 3


def test_verify_names_the_truncated_tenant(env: dict[str, str], tmp_path: Path) -> None:
    run(env, "checkpoint")
    conn = sqlite3.connect(tmp_path / "state.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER ledger_entries_no_delete")
    conn.execute("DELETE FROM ledger_entries WHERE tenant = 'globex' AND seq >= 4")
    conn.close()
    code, out = run(env, "verify")
    assert code == 1
    assert "LEDGER INVALID" in out and "tenant=globex seq=4" in out


def test_prove_explains_what_is_missing(env: dict[str, str]) -> None:
    code, out = run(env, "prove", "acme:2")
    assert code == 2 and "run `revloop ledger checkpoint` first" in out
    code, out = run(env, "prove", "not-an-entry")
    assert code == 2 and "neither tenant:seq nor the hash" in out


def test_show_prints_the_newest_entries(env: dict[str, str]) -> None:
    code, out = run(env, "show", "acme", "--last", "2")
    assert code == 0 and [line.split()[0] for line in out.strip().splitlines()] == ["4", "5"]
