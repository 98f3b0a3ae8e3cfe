"""Pull cursors in SQLite: forward-only, per (tenant, source, object), advanced only after a write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from connectors.cursors import CursorStore, commit_pull
from connectors.object_store import LocalObjectStore, SnapshotConflict
from connectors.records import RawSnapshot
from ledger.sql import sqlite_url

T = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)


def test_marks_persist_move_forward_only_and_are_scoped(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "state.sqlite")
    store = CursorStore(url)
    store.advance("acme", "hubspot", {"companies": T, "deals": T})
    store.advance("acme", "hubspot", {"companies": T - timedelta(hours=1), "deals": T + timedelta(seconds=1)})
    store.advance("globex", "hubspot", {"companies": T + timedelta(days=1)})
    reopened = CursorStore(url)
    assert reopened.get("acme", "hubspot") == {"companies": T, "deals": T + timedelta(seconds=1)}
    assert reopened.get("acme", "salesforce") == {}
    reopened.reset("acme", "hubspot")
    assert reopened.get("acme", "hubspot") == {}
    assert reopened.get("globex", "hubspot") == {"companies": T + timedelta(days=1)}
    with pytest.raises(ValueError, match="timezone-aware"):
        reopened.advance("acme", "hubspot", {"companies": datetime(2025, 1, 1)})


def test_a_failed_write_leaves_the_cursor_so_the_next_pull_repeats(tmp_path: Path) -> None:
    cursors = CursorStore(sqlite_url(tmp_path / "state.sqlite"))
    lake = LocalObjectStore(tmp_path / "lake")
    first = RawSnapshot("acme", "hubspot", T, {"accounts": pl.DataFrame({"id": ["1"]})},
                        complete=False, cursors={"companies": T})
    commit_pull(first, lake, cursors)
    clash = RawSnapshot("acme", "hubspot", T, {"accounts": pl.DataFrame({"id": ["2"]})},
                        complete=False, cursors={"companies": T + timedelta(hours=1)})
    with pytest.raises(SnapshotConflict):
        commit_pull(clash, lake, cursors)
    assert cursors.get("acme", "hubspot") == {"companies": T}
