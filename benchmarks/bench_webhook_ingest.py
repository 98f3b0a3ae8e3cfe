"""Durable webhook ingest throughput and latency at 32 concurrent connections, against a uvicorn receiver
subprocess on loopback, next to the same server's hello-world endpoint measured in the same run.

Every ingest request is a signed Standard Webhooks delivery that is verified, parsed and stored in the
SQLite (WAL, synchronous=FULL) inbox through the group committer before its 202; afterwards the
stored rows are counted against the 202s.
Target (issue #8): ingest >= 0.5x hello-world req/s, ingest p99 <= 25 ms.
    .venv/bin/python benchmarks/bench_webhook_ingest.py [--quick] [--requests N] [--connections C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_webhook_chaos import SOURCE, TENANTS, ReceiverProcess, receiver_app  # noqa: E402

from connectors.webhooks.inbox import WebhookInbox  # noqa: E402
from connectors.webhooks.secrets import ensure_local_secrets  # noqa: E402
from connectors.webhooks.verify import signed_headers  # noqa: E402
from ledger.sql import sqlite_url  # noqa: E402


def ingest_app() -> Any:
    """uvicorn factory: the production receiver plus a hello-world route that exists only here."""
    from fastapi.responses import JSONResponse

    ingress = receiver_app()

    @ingress.app.get("/hello")  # the FastAPI app behind the webhook front: what the review UI runs on
    async def hello() -> JSONResponse:
        return JSONResponse({"hello": "world"})

    return ingress


@dataclass
class LoadResult:
    name: str
    latencies: list[float]
    statuses: dict[int, int]
    seconds: float

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def raw_post(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"host: 127.0.0.1:{port}", f"content-length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def raw_get(port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n\r\n".encode()


async def load(name: str, port: int, requests: list[bytes], connections: int) -> LoadResult:
    """A small keep-alive HTTP/1.1 client: ``connections`` sockets, each sending its next request as
    soon as the previous answer is read; cheaper per request than a general-purpose client."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    next_index = 0

    async def connection() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while next_index < len(requests):
                request = requests[next_index]
                next_index += 1
                started = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return LoadResult(name, latencies, statuses, time.perf_counter() - started)


def signed_requests(port: int, secrets: dict[str, str], count: int, prefix: str) -> list[bytes]:
    timestamp = int(time.time())
    out = []
    for n in range(count):
        tenant = TENANTS[n % len(TENANTS)]
        body = json.dumps({"type": "record.changed", "object": "opportunities", "record_id": f"opp_{n}",
                           "changes": {"stage": {"before": "proposal", "after": "negotiation"}}}).encode()
        headers = {"content-type": "application/json",
                   **signed_headers(secrets[tenant], f"{prefix}_{n:07d}", timestamp, body)}
        out.append(raw_post(port, f"/webhooks/{SOURCE}?tenant={tenant}", headers, body))
    return out


def commit_latency_ms(db: Path, commits: int = 50) -> float:
    """Median latency of one fsync'd single-row commit to an inbox on the same disk, measured in the same
    run: 32 connections waiting on group commits cannot beat 32 / this latency, whatever the CPU does."""
    from datetime import UTC, datetime

    from connectors.webhooks.port import NewDelivery

    inbox = WebhookInbox(sqlite_url(db))
    times = []
    for n in range(commits):
        started = time.perf_counter()
        inbox.store_many([NewDelivery("probe", SOURCE, f"probe_{n}", datetime.now(UTC), b"{}")])
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def row(result: LoadResult) -> str:
    codes = ", ".join(f"{code}x{n}" for code, n in sorted(result.statuses.items()))
    return (f"| {result.name:<22} | {len(result.latencies):>8,} | {result.rate:>9,.0f} | "
            f"{statistics.median(result.latencies) * 1000:>7.2f} | {result.percentile(0.99):>7.2f} | {codes}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2,000 requests per endpoint")
    parser.add_argument("--requests", type=int, default=20_000, help="requests per endpoint")
    parser.add_argument("--connections", type=int, default=32, help="concurrent keep-alive connections")
    args = parser.parse_args()
    count = 2_000 if args.quick else args.requests
    with tempfile.TemporaryDirectory(prefix="bench_webhook_ingest_") as tmp:
        db, secrets_path = Path(tmp) / "inbox.sqlite", Path(tmp) / "webhooks.json"
        store = ensure_local_secrets(secrets_path, list(TENANTS), [SOURCE])
        secrets = {t: store.secrets_for(t, SOURCE)[0] for t in TENANTS}
        WebhookInbox(sqlite_url(db))
        receiver = ReceiverProcess("bench_webhook_ingest:ingest_app", db, secrets_path)
        receiver.start()
        try:
            warm = signed_requests(receiver.port, secrets, 300, "warm")
            asyncio.run(load("warm-up", receiver.port, warm, args.connections))
            asyncio.run(load("warm-up", receiver.port, [raw_get(receiver.port, "/hello")] * 300,
                             args.connections))
            ingest_requests = signed_requests(receiver.port, secrets, count, "msg")
            hello = asyncio.run(load("hello-world GET /hello", receiver.port,
                                     [raw_get(receiver.port, "/hello")] * count, args.connections))
            ingest = asyncio.run(load("durable ingest POST", receiver.port, ingest_requests,
                                      args.connections))
        finally:
            receiver.stop()
        stored = WebhookInbox(sqlite_url(db)).counts()["pending"] - 300
        fsync_ms = commit_latency_ms(Path(tmp) / "probe.sqlite")
    print(f"{count:,} requests per endpoint, {args.connections} connections, uvicorn subprocess on loopback")
    print("| endpoint               | requests |     req/s | p50 ms  | p99 ms  | answers")
    print("|------------------------|----------|-----------|---------|---------|--------")
    print(row(hello))
    print(row(ingest))
    ratio = ingest.rate / hello.rate
    durable = stored == ingest.statuses.get(202, 0) == count
    print(f"ratio ingest/hello-world: {ratio:.2f}x (target >= 0.5x); ingest p99 "
          f"{ingest.percentile(0.99):.1f} ms (target <= 25 ms); stored rows {stored:,} = 202 answers: "
          f"{durable}")
    print(f"fsync'd commit latency on this disk now: {fsync_ms:.1f} ms -> at most "
          f"{args.connections / (fsync_ms / 1000):,.0f} req/s for {args.connections} connections waiting on "
          "group commits. Absolute figures are noisy: other processes share the 2 cores and the disk.")
    return 0 if durable else 1


if __name__ == "__main__":
    sys.exit(main())
