"""Verification split over seq ranges (worker processes on large ledgers) finds exactly what the
one-process check finds: the same first bad entry and reason for every tamper, wherever it falls
relative to a range boundary, and the same Merkle tree when nothing is wrong."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from ledger.chain import ChainBreak
from ledger.entry import GENESIS_HASH
from ledger.merkle import MerkleTree
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from ledger.verify import LedgerVerificationError
from ledger.verify_ranges import _collect, join_ranges, plan_ranges, verified_tree, verify_range
from tests.integration.test_ledger_tamper import tamper

SIZE = 64


def filled(db: Path, count: int = SIZE) -> Ledger:
    ledger = Ledger(sqlite_url(db))
    ledger.append_many([NewEntry("acme", "signal.raised", "perception",
                                 {"n": n, "account": f"acct-{n % 7}", "score": 0.25}) for n in range(count)])
    ledger.append_many([NewEntry("globex", "signal.raised", "perception", {"n": n}) for n in range(5)])
    return ledger


def in_process(db: Path, tenant: str, max_seq: int, workers: int) -> MerkleTree:
    """The workers' steps without the processes: verify_range per planned range, then the joints."""
    return join_ranges([verify_range(str(db), tenant, low, high, GENESIS_HASH)
                        for low, high in plan_ranges(max_seq, workers)])


@pytest.mark.parametrize(("max_seq", "parts"), [(1, 1), (1, 4), (5, 2), (64, 4), (65, 4), (100, 3),
                                                (1_000_000, 2)])
def test_ranges_cover_every_seq_once_aligned_to_their_size(max_seq: int, parts: int) -> None:
    ranges = plan_ranges(max_seq, parts)
    assert ranges[0][0] is None and ranges[-1][1] is None and len(ranges) <= parts
    inner = [(low or 1, high or max_seq) for low, high in ranges]
    assert inner[0][0] == 1 and inner[-1][1] >= max_seq
    for (_, high), (low, _) in zip(inner, inner[1:], strict=False):
        assert low == high + 1
    size = inner[0][1]
    assert size & (size - 1) == 0 and all((low - 1) % size == 0 for low, _ in inner)


@pytest.mark.parametrize("count", [1, 2, 3, 15, 16, 17, 33, 64, 70])
@pytest.mark.parametrize("workers", [2, 3, 4])
def test_joined_ranges_give_the_same_tree_as_one_process(tmp_path: Path, count: int, workers: int) -> None:
    db = tmp_path / "ledger.db"
    ledger = filled(db, count)
    tree = in_process(db, "acme", count, workers)
    whole = MerkleTree.from_data(ledger.leaf_data("acme"))
    assert tree.size == count and tree.levels == whole.levels
    assert tree.root() == whole.root()


def tampered_copy(db: Path, target: Path, kind: str, k: int) -> Path:
    source, copy = sqlite3.connect(db), sqlite3.connect(target, isolation_level=None)
    source.backup(copy)
    source.close()
    copy.execute("DROP TRIGGER ledger_entries_no_update")
    copy.execute("DROP TRIGGER ledger_entries_no_delete")
    if kind == "link":  # a broken joint alone: the entry's prev_hash no longer names the one before
        copy.execute("UPDATE ledger_entries SET prev_hash = ? WHERE tenant = 'acme' AND seq = ?",
                     ("f" * 64, k))
    else:
        tamper(copy, "acme", kind, k)
    copy.close()
    return target


def outcome(check: Callable[[], MerkleTree]) -> tuple[int, str] | bytes:
    """The first bad entry (seq, reason), or the root when the chain holds (a truncated tail does:
    only a checkpoint tells)."""
    try:
        return check().root()
    except (ChainBreak, LedgerVerificationError) as exc:
        return exc.seq, exc.reason


@pytest.mark.parametrize("kind", ["payload_byte", "delete", "swap", "insert", "truncate", "link"])
@pytest.mark.parametrize("k", [2, 15, 16, 17, 18, 32, 33, 48, 49, 63])
def test_every_tamper_is_named_as_the_one_process_check_names_it(tmp_path: Path, kind: str, k: int) -> None:
    db = tmp_path / "ledger.db"
    filled(db).engine.dispose()
    copy = tampered_copy(db, tmp_path / "tampered.db", kind, k)
    whole = outcome(lambda: MerkleTree.from_data(Ledger(sqlite_url(copy)).leaf_data("acme")))
    assert kind == "truncate" or isinstance(whole, tuple)
    max_seq = sqlite3.connect(copy).execute(
        "SELECT max(seq) FROM ledger_entries WHERE tenant = 'acme'").fetchone()[0]
    for workers in (2, 4):  # boundaries at 33, and at 17, 33, 49
        assert outcome(lambda w=workers: in_process(copy, "acme", max_seq, w)) == whole, (kind, k, workers)


def test_worker_processes_verify_and_report_the_first_bad_entry(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    ledger = filled(db)
    tree = verified_tree(str(db), "acme", SIZE, GENESIS_HASH, workers=2)
    assert tree.root() == MerkleTree.from_data(ledger.leaf_data("acme")).root()
    ledger.engine.dispose()
    copy = tampered_copy(db, tmp_path / "tampered.db", "payload_byte", 40)
    with pytest.raises(ChainBreak) as info:
        verified_tree(str(copy), "acme", SIZE, GENESIS_HASH, workers=2)
    assert info.value.seq == 40 and "digest" in info.value.reason


def test_a_worker_that_cannot_read_the_database_is_an_error_not_a_pass(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="(?s)worker .* exited with 1: .*unable to open database"):
        _collect(subprocess.Popen([sys.executable, "-m", "ledger.verify_ranges", str(tmp_path / "missing.db"),
                                   "acme", "33", "-", GENESIS_HASH],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    with pytest.raises(sqlite3.Error):
        verified_tree(str(tmp_path / "missing.db"), "acme", SIZE, GENESIS_HASH, workers=2)
