"""RELIABILITY item 5 at a small scale: a real uvicorn receiver SIGKILLed twice mid-stream while senders
retry; every valid delivery is stored exactly once and every invalid one ends in 401."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_webhook_chaos.py"


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_webhook_chaos", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_webhook_chaos"] = module
    spec.loader.exec_module(module)
    return module


def test_a_receiver_killed_twice_loses_nothing_duplicates_nothing_and_rejects_only_invalid(
        tmp_path: Path) -> None:
    bench = load_bench()
    report = bench.run_chaos(tmp_path, total=400, duplicates=30, bad_signatures=8, stale=5, cross_tenant=3,
                             kills=2, concurrency=8)
    assert report.kills == 2
    assert len(report.expected_ids) == 400 - 30 - 16
    assert report.stored_ids == report.expected_ids  # 0 lost, nothing unexpected
    assert report.stored_rows == len(report.expected_ids)  # 0 duplicated
    assert report.acknowledged <= report.stored_ids  # every 2xx was durable before it was sent
    assert sorted(report.rejects) == [401] * 16
    assert {k: len(v) for k, v in report.rejected.items()} == {"bad_signature": 8, "stale": 5,
                                                                "cross_tenant": 3}
