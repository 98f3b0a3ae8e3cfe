"""Webhook chaos (RELIABILITY item 5): 10,000 deliveries into a real uvicorn receiver that is SIGKILLed
twice mid-stream and restarted, with senders retrying every non-final answer.

The mix: 500 duplicate ids, 100 bad signatures, 50 stale timestamps, 10 signed with another tenant's
secret. Gate: exactly the 9,340 valid unique events stored, 0 lost, 0 duplicated, all 160 rejects 401.
Baseline in the same run: the same deliveries against a receiver that is never killed.
    .venv/bin/python benchmarks/bench_webhook_chaos.py [--quick] [--kills N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.webhooks.inbox import WebhookInbox  # noqa: E402
from connectors.webhooks.secrets import WebhookSecretStore, ensure_local_secrets  # noqa: E402
from connectors.webhooks.verify import sign  # noqa: E402
from ledger.sql import sqlite_url  # noqa: E402

TENANTS = ("acme", "globex")
SOURCE = "demo"
FINAL = {200, 202, 400, 401, 404, 413, 415}


def receiver_app() -> Any:
    """uvicorn factory: the production webhook receiver on the inbox named by BENCH_WEBHOOK_DB."""
    from fastapi import FastAPI

    from connectors.webhooks.asgi import with_webhook_ingress
    from connectors.webhooks.receiver import WebhookReceiver

    inbox = WebhookInbox(sqlite_url(Path(os.environ["BENCH_WEBHOOK_DB"])))
    secrets = WebhookSecretStore.load(Path(os.environ["BENCH_WEBHOOK_SECRETS"]))
    app = with_webhook_ingress(FastAPI(title="webhook receiver (benchmark)"),
                               WebhookReceiver(inbox, secrets, {SOURCE}))
    gc.freeze()  # as revloop.app.create_app_from_env does
    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ReceiverProcess:
    """A uvicorn subprocess on loopback serving ``factory`` (module:function in benchmarks/)."""

    def __init__(self, factory: str, db: Path, secrets: Path, port: int | None = None) -> None:
        self.factory, self.port = factory, port or free_port()
        self.env = {**os.environ, "BENCH_WEBHOOK_DB": str(db), "BENCH_WEBHOOK_SECRETS": str(secrets)}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", self.factory, "--factory",
             "--app-dir", str(ROOT / "benchmarks"), "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            env=self.env, cwd=ROOT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the receiver exited with {self.process.returncode} while starting")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the receiver did not listen on port {self.port} within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, in-flight requests get no answer."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass(frozen=True)
class Delivery:
    tenant: str
    delivery_id: str
    body: bytes
    kind: str  # valid | duplicate | bad_signature | stale | cross_tenant
    secret: str


@dataclass
class ChaosReport:
    sent: int = 0
    expected_ids: set[tuple[str, str]] = field(default_factory=set)
    acknowledged: set[tuple[str, str]] = field(default_factory=set)
    rejected: dict[str, list[int]] = field(default_factory=dict)  # kind -> final statuses
    attempts: int = 0
    kills: int = 0
    stored_rows: int = 0
    stored_ids: set[tuple[str, str]] = field(default_factory=set)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return len(self.expected_ids - self.stored_ids)

    @property
    def duplicated(self) -> int:
        return self.stored_rows - len(self.stored_ids)

    @property
    def unexpected(self) -> int:
        return len(self.stored_ids - self.expected_ids)

    @property
    def rejects(self) -> list[int]:
        return [status for statuses in self.rejected.values() for status in statuses]

    def ok(self, invalid: int) -> bool:
        return (self.lost == 0 and self.duplicated == 0 and self.unexpected == 0
                and len(self.rejects) == invalid and set(self.rejects) <= {401}
                and self.acknowledged <= self.stored_ids)


def make_deliveries(secrets: WebhookSecretStore, total: int, duplicates: int, bad_signatures: int, stale: int,
                    cross_tenant: int, seed: int = 7) -> list[Delivery]:
    rng = random.Random(seed)
    unique = total - duplicates - bad_signatures - stale - cross_tenant
    key = {t: secrets.secrets_for(t, SOURCE)[0] for t in TENANTS}
    valid = [Delivery(TENANTS[n % 2], f"msg_{n:06d}",
                      json.dumps({"n": n, "pad": "x" * rng.randrange(200)}).encode(), "valid",
                      key[TENANTS[n % 2]]) for n in range(unique)]
    out = list(valid)
    out += [Delivery(d.tenant, d.delivery_id, d.body, "duplicate", d.secret)
            for d in rng.sample(valid, duplicates)]
    for kind, count in (("bad_signature", bad_signatures), ("stale", stale), ("cross_tenant", cross_tenant)):
        for n in range(count):
            tenant = TENANTS[n % 2]
            other = TENANTS[(n + 1) % 2]
            out.append(Delivery(tenant, f"{kind}_{n:04d}", json.dumps({"kind": kind, "n": n}).encode(), kind,
                                key[other] if kind == "cross_tenant" else key[tenant]))
    rng.shuffle(out)
    return out


def headers_for(d: Delivery, first_timestamp: int) -> dict[str, str]:
    """Valid deliveries are re-signed with a fresh timestamp on every try (as senders do); invalid ones
    keep what made them invalid."""
    now = int(time.time())
    if d.kind == "stale":
        timestamp = first_timestamp - 3600
    else:
        timestamp = now if d.kind in ("valid", "duplicate") else first_timestamp
    signed_body = d.body + b" " if d.kind == "bad_signature" else d.body
    signature = sign(d.secret, d.delivery_id, timestamp, signed_body)
    return {"content-type": "application/json", "webhook-id": d.delivery_id,
            "webhook-timestamp": str(timestamp), "webhook-signature": signature}


async def send_all(receiver: ReceiverProcess, deliveries: list[Delivery], report: ChaosReport,
                   concurrency: int) -> None:
    queue: asyncio.Queue[Delivery] = asyncio.Queue()
    for d in deliveries:
        queue.put_nowait(d)
    first_timestamp = int(time.time())
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=receiver.url, limits=limits, timeout=10.0) as client:
        async def sender() -> None:
            while not queue.empty():
                d = queue.get_nowait()
                backoff = 0.02
                while True:
                    report.attempts += 1
                    try:
                        response = await client.post(f"/webhooks/{SOURCE}", params={"tenant": d.tenant},
                                                     content=d.body, headers=headers_for(d, first_timestamp))
                        status = response.status_code
                    except httpx.TransportError:
                        status = None  # the receiver died mid-request or is restarting
                    if status in FINAL:
                        break
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 0.5)
                if status in (200, 202):
                    report.acknowledged.add((d.tenant, d.delivery_id))
                else:
                    report.rejected.setdefault(d.kind, []).append(int(status or 0))

        await asyncio.gather(*(sender() for _ in range(concurrency)))


async def chaos_monkey(receiver: ReceiverProcess, report: ChaosReport, kills: int, total: int) -> None:
    for k in range(1, kills + 1):
        while len(report.acknowledged) < total * k / (kills + 1):
            await asyncio.sleep(0.01)
        receiver.kill()
        report.kills += 1
        await asyncio.sleep(0.2)  # senders see refused connections for a while
        await asyncio.to_thread(receiver.start)


def run_chaos(workdir: Path, total: int = 10_000, duplicates: int = 500, bad_signatures: int = 100,
              stale: int = 50, cross_tenant: int = 10, kills: int = 2, concurrency: int = 16) -> ChaosReport:
    workdir.mkdir(parents=True, exist_ok=True)
    db, secrets_path = workdir / "inbox.sqlite", workdir / "webhooks.json"
    secrets = ensure_local_secrets(secrets_path, list(TENANTS), [SOURCE])
    WebhookInbox(sqlite_url(db))  # create the schema before the first receiver starts
    deliveries = make_deliveries(secrets, total, duplicates, bad_signatures, stale, cross_tenant)
    report = ChaosReport(sent=len(deliveries),
                         expected_ids={(d.tenant, d.delivery_id) for d in deliveries if d.kind == "valid"})
    receiver = ReceiverProcess("bench_webhook_chaos:receiver_app", db, secrets_path)
    receiver.start()
    started = time.perf_counter()

    async def main() -> None:
        monkey = asyncio.create_task(chaos_monkey(receiver, report, kills, len(report.expected_ids)))
        await send_all(receiver, deliveries, report, concurrency)
        await monkey

    try:
        asyncio.run(main())
    finally:
        report.seconds = time.perf_counter() - started
        receiver.stop()
    inbox = WebhookInbox(sqlite_url(db))
    events = inbox.pending(limit=10 * total)
    report.stored_rows = len(events)
    report.stored_ids = {(e.tenant, e.delivery_id) for e in events}
    return report


def print_report(name: str, report: ChaosReport, invalid: int) -> None:
    by_kind = {kind: f"{len(s)}x{sorted(set(s))}" for kind, s in sorted(report.rejected.items())}
    print(f"{name:>10}: stored {len(report.stored_ids):,} (expected {len(report.expected_ids):,}), "
          f"lost {report.lost}, duplicated {report.duplicated}, rejected {len(report.rejects)} {by_kind}, "
          f"kills {report.kills}, attempts {report.attempts:,}, {report.seconds:.1f} s "
          f"({report.sent / report.seconds:,.0f} deliveries/s) -> {'PASS' if report.ok(invalid) else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 deliveries instead of 10,000")
    parser.add_argument("--kills", type=int, default=2, help="SIGKILLs of the receiver mid-stream")
    parser.add_argument("--concurrency", type=int, default=16, help="concurrent senders")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    mix = dict(total=10_000 // scale, duplicates=500 // scale, bad_signatures=100 // scale,
               stale=50 // scale, cross_tenant=max(10 // scale, 1))
    invalid = mix["bad_signatures"] + mix["stale"] + mix["cross_tenant"]
    print(f"target (RELIABILITY 5): {mix['total'] - mix['duplicates'] - invalid:,} stored, 0 lost, "
          f"0 duplicated, {invalid} rejects all 401, receiver killed {args.kills}x")
    with tempfile.TemporaryDirectory(prefix="bench_webhook_chaos_") as tmp:
        baseline = run_chaos(Path(tmp) / "baseline", kills=0, concurrency=args.concurrency, **mix)
        print_report("baseline", baseline, invalid)
        chaos = run_chaos(Path(tmp) / "chaos", kills=args.kills, concurrency=args.concurrency, **mix)
        print_report("chaos", chaos, invalid)
    print(f"ratio: chaos run took {chaos.seconds / baseline.seconds:.2f}x the undisturbed run")
    return 0 if baseline.ok(invalid) and chaos.ok(invalid) else 1


if __name__ == "__main__":
    sys.exit(main())
