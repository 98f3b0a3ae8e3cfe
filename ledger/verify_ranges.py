"""Verify a large SQLite ledger in worker processes, one seq range each, and build its Merkle tree.

Each worker reads its range with its own read-only connection, checks the chain inside it
(``ledger.chain.check_run``) and hashes the perfect Merkle subtrees inside it. Ranges are aligned
to a power of two, so the workers' subtree levels join into the tree's levels unchanged; only the few
nodes above one range are hashed here. The joints are checked here, in seq order: each range's first
``prev_hash`` must be the entry hash that ends the range before, so the first bad entry is named
exactly as the one-process check names it.

The first range has no lower bound and the last no upper bound: every row of the tenant is read by
exactly one worker, whatever seqs tampering left behind."""

from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ledger.chain import ChainBreak, check_run
from ledger.merkle import LEAF_PREFIX, MerkleTree

# Below this many entries one process is faster than starting workers.
PARALLEL_FROM = 200_000

_COLUMNS = ("seq, tenant, kind, actor, recorded_at, CAST(payload AS BLOB), payload_digest, prev_hash, "
            "entry_hash")


@dataclass(frozen=True)
class RangeResult:
    low: int  # the planned first seq
    first_seq: int | None  # the first row's seq as stored (None: the range holds no rows)
    linked_to: str  # the entry hash the first row had to link to
    count: int  # rows verified
    last_hash: str | None
    levels: list[bytes]  # levels[k]: the range's perfect-subtree roots at height k, joined
    error: ChainBreak | None = None


def worker_count() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def plan_ranges(max_seq: int, parts: int) -> list[tuple[int | None, int | None]]:
    """Seq bounds (low, high; None = open) of ``parts`` ranges over 1..max_seq, each starting at a
    multiple of a power of two (its size) plus one."""
    size = 1
    while size * parts < max_seq:
        size *= 2
    bounds: list[tuple[int | None, int | None]] = []
    for start in range(0, max(max_seq, 1), size):
        bounds.append((start + 1, start + size))
    first_high, last_low = bounds[0][1], bounds[-1][0]
    bounds[0] = (None, first_high)
    bounds[-1] = (last_low if len(bounds) > 1 else None, None)
    return bounds


def verify_range(db_path: str, tenant: str, low: int | None, high: int | None,
                 genesis: str) -> RangeResult:
    """Worker: check rows low..high of ``tenant`` and hash their perfect subtrees."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        where, args = "tenant = ?", [tenant]
        if low is not None:
            where += " AND seq >= ?"
            args.append(low)
        if high is not None:
            where += " AND seq <= ?"
            args.append(high)
        first = conn.execute(f"SELECT seq FROM ledger_entries WHERE {where} ORDER BY seq, id LIMIT 1",
                             args).fetchone()
        linked_to = genesis
        if low is not None:
            before = conn.execute("SELECT entry_hash FROM ledger_entries WHERE tenant = ? AND seq < ? "
                                  "ORDER BY seq DESC, id DESC LIMIT 1", (tenant, low)).fetchone()
            linked_to = before[0] if before else genesis
        start = low if low is not None else 1
        rows = conn.execute(f"SELECT {_COLUMNS} FROM ledger_entries WHERE {where} ORDER BY seq, id", args)
        try:
            leaves = check_run(tenant, rows, start, linked_to)
        except ChainBreak as exc:
            return RangeResult(start, first[0] if first else None, linked_to, 0, None, [], exc)
    finally:
        conn.close()
    sha256 = hashlib.sha256
    tree = MerkleTree(sha256(LEAF_PREFIX + leaf).digest() for leaf in leaves)
    return RangeResult(start, first[0] if first else None, linked_to, len(leaves),
                       leaves[-1].hex() if leaves else None, [b"".join(level) for level in tree.levels])


def verified_tree(db_path: str, tenant: str, max_seq: int, genesis: str, workers: int) -> MerkleTree:
    """Check ``tenant``'s chain in ``workers`` processes (this one checks the first range) and return
    its Merkle tree; raises ChainBreak at the first bad entry (joints included)."""
    # Plain child interpreters rather than multiprocessing: forking a threaded process (Dagster, a web
    # server) can deadlock, and spawn/forkserver re-run the caller's main module.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH")) if p)}
    ranges = plan_ranges(max_seq, workers)
    children = []
    try:
        for low, high in ranges[1:]:
            argv = [sys.executable, "-m", __name__, db_path, tenant, _bound(low), _bound(high), genesis]
            children.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
        # This process checks the first range itself while the children check theirs.
        results = [verify_range(db_path, tenant, *ranges[0], genesis)] + [_collect(c) for c in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    return join_ranges(results)


def _bound(value: int | None) -> str:
    return "-" if value is None else str(value)


def _collect(child: subprocess.Popen[bytes]) -> RangeResult:
    out, err = child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"ledger verifier worker {child.args} exited with {child.returncode}: "
                           f"{err.decode(errors='replace').strip()[-2000:]}")
    result = pickle.loads(out)  # noqa: S301 - written by the child process started just above
    if not isinstance(result, RangeResult):
        raise RuntimeError(f"ledger verifier worker {child.args} returned {type(result).__name__}")
    return result


def join_ranges(results: list[RangeResult]) -> MerkleTree:
    """Check the joints in seq order and join the ranges' subtree levels into one tree."""
    previous_hash: str | None = None
    verified = 0
    for result in results:
        if result.first_seq is None:
            continue
        if result.low != verified + 1:  # the ranges before ended early: rows are missing
            raise ChainBreak(verified + 1, f"sequence gap: expected seq {verified + 1}, found "
                                           f"{result.first_seq}")
        if previous_hash is not None and result.linked_to != previous_hash:
            raise ChainBreak(result.low, "the row before the range changed while it was verified")
        if result.error is not None:
            raise result.error
        previous_hash = result.last_hash
        verified += result.count
    levels: list[list[bytes]] = []
    height = 0
    while verified >> height:
        joined = b"".join(r.levels[height] for r in results if len(r.levels) > height)
        levels.append([joined[i:i + 32] for i in range(0, len(joined), 32)])
        height += 1
        if any(r.count and len(r.levels) <= height for r in results[:-1]):
            break  # above the size of one range: the rest is hashed from here
    return MerkleTree.from_levels(levels)


def _main(argv: list[str]) -> None:
    # Through the module's own name: the parent unpickles ledger.verify_ranges.RangeResult, not __main__'s.
    from ledger.verify_ranges import verify_range as by_name

    db_path, tenant, low, high, genesis = argv
    result = by_name(db_path, tenant, None if low == "-" else int(low),
                     None if high == "-" else int(high), genesis)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


if __name__ == "__main__":
    _main(sys.argv[1:])
