"""Ledger benchmark: batched append rate, and full verification (hash chain + Merkle root) at scale.

Each figure is printed next to a baseline measured in the same run:
  append      append_many in batches      vs  one append() per entry         target >= 50,000 entries/s
  verify      chain + Merkle tree, workers vs  the same in one process,      target <= 3 s for 1,000,000
                                              and plain hashlib over the same bytes
  checkpoint  verify_against_checkpoint on 100,000 entries                   target < 10 s

Wall-clock figures depend on what else runs on the machine: the CPU seconds (this process and its
worker processes) are printed next to them.
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from ledger.checkpoints import LocalCheckpointStore  # noqa: E402
from ledger.header import entry_header_bytes  # noqa: E402
from ledger.proofs import take_checkpoint, verify_against_checkpoint  # noqa: E402
from ledger.sql import sqlite_url  # noqa: E402
from ledger.store import Ledger, NewEntry  # noqa: E402
from ledger.verify_ranges import PARALLEL_FROM, worker_count  # noqa: E402


class KeySigner:
    name = "bench-key"

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()

    def public_key(self):  # type: ignore[no-untyped-def]
        return self._key.public_key()

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def entry(tenant: str, i: int) -> NewEntry:
    return NewEntry(tenant, "signal.raised", "perception",
                    {"signal": f"sig-{i}", "account": f"acct-{i % 5000:05d}", "kind": "usage_drop",
                     "severity": "high", "score": 0.75, "evidence": {"before": i, "after": i // 2}})


def fill(ledger: Ledger, tenant: str, count: int, batch: int) -> float:
    """Append ``count`` entries in batches; returns the seconds spent appending (entries are made
    beforehand, as a caller holds them already)."""
    batches = [[entry(tenant, i) for i in range(start, min(count, start + batch))]
               for start in range(0, count, batch)]
    started = time.perf_counter()
    for items in batches:
        ledger.append_many(items)
    return time.perf_counter() - started


def cpu_seconds() -> float:
    """CPU time of this process and of the worker processes it waited for."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def bench_append(workdir: Path, batched: int, single: int, batch: int) -> None:
    ledger = Ledger(sqlite_url(workdir / "append.db"))
    one_by_one = time.perf_counter()
    for i in range(single):
        ledger.append("single", entry("single", i).kind, "perception", entry("single", i).payload)
    one_by_one = time.perf_counter() - one_by_one
    batched_s = fill(ledger, "batched", batched, batch)
    rate, base = batched / batched_s, single / one_by_one
    print(f"append: {rate:,.0f} entries/s in batches of {batch:,} ({batched:,} entries); "
          f"baseline one append() per entry {base:,.0f}/s; ratio {rate / base:.1f}x; "
          f"target >= 50,000/s -> {'MET' if rate >= 50_000 else 'NOT MET'}")


def timed_tree(ledger: Ledger, workers: int | None) -> tuple[float, float, bytes]:
    started, cpu = time.perf_counter(), cpu_seconds()
    root = ledger.verified_tree("acme", workers).root()
    return time.perf_counter() - started, cpu_seconds() - cpu, root


def bench_verify(workdir: Path, count: int) -> None:
    ledger = Ledger(sqlite_url(workdir / "verify.db"))
    fill(ledger, "acme", count, 10_000)
    workers = worker_count()
    one_s, one_cpu, one_root = timed_tree(ledger, 1)
    total, cpu, root = timed_tree(ledger, None)
    assert root == one_root, "worker processes and one process disagree on the root"

    # Baseline: hashlib alone over exactly the bytes the verifier hashes, prepared beforehand.
    blobs: list[bytes] = []
    for row in ledger.rows("acme"):
        blobs.append(row.payload_json.encode())
        blobs.append(entry_header_bytes(seq=row.seq, tenant=row.tenant, kind=row.kind, actor=row.actor,
                                        recorded_at=row.recorded_at, payload_digest=row.payload_digest,
                                        prev_hash=row.prev_hash))
        blobs.append(b"\x00" + bytes.fromhex(row.entry_hash))
    blobs.extend(b"\x01" + bytes(64) for _ in range(count - 1))  # one node hash per inner node
    sha256 = hashlib.sha256
    base = time.perf_counter()
    for blob in blobs:
        sha256(blob).digest()
    base = time.perf_counter() - base
    scaled = total * 1_000_000 / count
    mode = f"{workers} worker processes" if count >= PARALLEL_FROM and workers > 1 else "one process"
    print(f"verify: {count:,} entries (chain + Merkle tree, root {root.hex()[:16]}) in {total:.2f} s wall, "
          f"{cpu:.2f} s CPU, {mode}; baseline one process {one_s:.2f} s wall, {one_cpu:.2f} s CPU "
          f"(ratio {one_s / total:.2f}x); plain hashlib over the same {len(blobs):,} inputs {base:.2f} s; "
          f"target <= 3 s for 1,000,000 -> {'MET' if scaled <= 3 else 'NOT MET'} "
          f"(scaled to 1,000,000: {scaled:.2f} s)")


def bench_checkpoint(workdir: Path, count: int) -> None:
    ledger = Ledger(sqlite_url(workdir / "checkpoint.db"))
    fill(ledger, "acme", count, 10_000)
    signer = KeySigner()
    signed, _ = take_checkpoint(ledger, "acme", signer, LocalCheckpointStore(workdir / "checkpoints"))
    ledger.append_many([entry("acme", i) for i in range(count, count + 1000)])
    started = time.perf_counter()
    verify_against_checkpoint(ledger, signed, signer.public_key())
    elapsed = time.perf_counter() - started
    plain = time.perf_counter()
    ledger.verify("acme")
    plain = time.perf_counter() - plain
    print(f"checkpoint: verify {count + 1000:,} entries against a checkpoint of {count:,} "
          f"in {elapsed:.2f} s; "
          f"baseline chain-only verify {plain:.2f} s; ratio {elapsed / plain:.2f}x; target < 10 s -> "
          f"{'MET' if elapsed < 10 else 'NOT MET'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small smoke sizes (seconds)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        workdir = Path(tmp)
        if args.quick:
            bench_append(workdir, batched=20_000, single=300, batch=1_000)
            bench_verify(workdir, 20_000)
            bench_checkpoint(workdir, 10_000)
        else:
            bench_append(workdir, batched=200_000, single=2_000, batch=1_000)
            bench_verify(workdir, 1_000_000)
            bench_checkpoint(workdir, 100_000)


if __name__ == "__main__":
    main()
