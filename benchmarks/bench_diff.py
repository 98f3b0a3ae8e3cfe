"""Diff two 1,000,000-row opportunity snapshots into signals: revloop's polars path vs straightforward pandas.

The after-snapshot has ~5 % of rows changed (close dates slipped, stages moved back, amounts and owners
edited), 1 % deleted and 1 % inserted. Both implementations find the same changed/inserted/deleted
records and raise the same deal_slipped / stage_regression signals (checked before timing is printed).

Target (issue #3): <= 1.0 s and >= 2x faster than pandas on 2 cores.
    .venv/bin/python benchmarks/bench_diff.py [--rows N] [--repeat R] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perception.change_rules import opportunity_change_signals, to_signals  # noqa: E402
from perception.diff import diff_wide  # noqa: E402
from perception.schemas import OPEN_STAGES, STAGES  # noqa: E402
from perception.thresholds import SignalThresholds  # noqa: E402

OBSERVED_ON = "2026-03-02"


def make_snapshots(rows: int, seed: int = 7) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    stages = np.array(STAGES)
    before = pl.DataFrame({
        "tenant": np.full(rows, "acme"),
        "opportunity_id": np.char.add("opp_", ids.astype(str)),
        "account_id": np.char.add("acc_", (ids // 3).astype(str)),
        "name": np.char.add("Deal ", ids.astype(str)),
        "stage": stages[rng.integers(0, len(STAGES), rows)],
        "amount": rng.integers(1_000, 500_000, rows).astype(float),
        "close_date": np.datetime64("2026-03-01") + rng.integers(0, 365, rows).astype("timedelta64[D]"),
        "owner_email": np.char.add(np.char.add("rep", rng.integers(0, 50, rows).astype(str)), "@v.example"),
        "stage_changed_on": np.datetime64("2026-01-01") + rng.integers(0, 60, rows).astype("timedelta64[D]"),
    }).with_columns(pl.col("close_date").cast(pl.Date), pl.col("stage_changed_on").cast(pl.Date))
    u = pl.Series("u", rng.random(rows))
    slip = pl.Series("slip", rng.integers(1, 45, rows))
    back_one = {s: OPEN_STAGES[max(i - 1, 0)] for i, s in enumerate(OPEN_STAGES)}
    regressed = pl.col("stage").replace_strict(back_one, default=pl.col("stage"))
    after = before.with_columns(u, slip).with_columns(
        pl.when(pl.col("u") < 0.015).then(pl.col("close_date") + pl.duration(days=pl.col("slip")))
        .otherwise(pl.col("close_date")).alias("close_date"),
        pl.when(pl.col("u").is_between(0.015, 0.025, closed="left")).then(regressed)
        .otherwise(pl.col("stage")).alias("stage"),
        pl.when(pl.col("u").is_between(0.025, 0.035, closed="left")).then(pl.col("amount") * 0.8)
        .otherwise(pl.col("amount")).alias("amount"),
        pl.when(pl.col("u").is_between(0.035, 0.05, closed="left")).then(pl.lit("rep99@v.example"))
        .otherwise(pl.col("owner_email")).alias("owner_email"),
    ).filter(pl.col("u") < 0.99).drop("u", "slip")
    inserted = before.head(rows // 100).with_columns(pl.col("opportunity_id").str.replace("opp_", "new_"))
    after = pl.concat([after, inserted])
    after = after.sample(fraction=1.0, shuffle=True, seed=seed)  # CRM exports come in no useful order
    accounts = pl.DataFrame({"account_id": np.char.add("acc_", np.arange(rows // 3 + 1).astype(str)),
                             "name": np.char.add("Account ", np.arange(rows // 3 + 1).astype(str))})
    return before, after, accounts


def revloop_polars(before: pl.DataFrame, after: pl.DataFrame, accounts: pl.DataFrame) -> dict[str, Any]:
    diff = diff_wide(before, after, "opportunity_id")
    signals = opportunity_change_signals("acme", diff, accounts, SignalThresholds(), OBSERVED_ON)
    return {**diff.counts(), "signals": signals}


def straightforward_pandas(before: pd.DataFrame, after: pd.DataFrame, accounts: pd.DataFrame
                           ) -> dict[str, Any]:
    t = SignalThresholds()
    key = "opportunity_id"
    fields = [c for c in after.columns if c not in (key, "tenant")]
    merged = before.merge(after, on=key, how="outer", suffixes=("__before", ""), indicator=True)
    inserted = merged[merged["_merge"] == "right_only"]
    deleted = merged[merged["_merge"] == "left_only"]
    both = merged[merged["_merge"] == "both"]
    differs = np.zeros(len(both), dtype=bool)
    for f in fields:
        a, b = both[f], both[f + "__before"]
        differs |= ~((a == b) | (a.isna() & b.isna())).to_numpy()
    names = accounts.rename(columns={"name": "account_name"})
    changed = both[differs].merge(names, on="account_id", how="left")
    days = (changed["close_date"] - changed["close_date__before"]).dt.days
    slipped = changed[changed["stage"].isin(OPEN_STAGES) & (days >= t.slip_min_days)]
    order = {s: i for i, s in enumerate(OPEN_STAGES)}
    steps = changed["stage__before"].map(order) - changed["stage"].map(order)
    regressed = changed[steps > 0]
    slip_keys = "acme|deal_slipped|" + slipped[key] + "|" + slipped["close_date"].dt.strftime("%Y-%m-%d")
    back_keys = ("acme|stage_regression|" + regressed[key] + "|" + regressed["stage__before"] + ">"
                 + regressed["stage"] + "|" + OBSERVED_ON)
    return {"inserted": len(inserted), "deleted": len(deleted), "changed": int(differs.sum()),
            "signal_keys": pd.concat([slip_keys, back_keys]).sort_values().tolist()}


class PeakRss:
    """Peak resident memory above the level at start, sampled every 2 ms from /proc (polars and
    pandas allocate outside Python's allocator, so tracemalloc would miss most of it)."""

    def __init__(self) -> None:
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * 4096

    def _run(self) -> None:
        while not self._stop.wait(0.002):
            self.peak = max(self.peak, self._rss())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())

    @property
    def mib(self) -> float:
        return (self.peak - self.base) / 2**20


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    best, peak, result = float("inf"), 0.0, None
    for _ in range(repeat):
        gc.collect()
        with PeakRss() as rss:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
        best, peak = min(best, elapsed), max(peak, rss.mib)
    return best, peak, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per snapshot (default 1,000,000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per implementation; the best is kept")
    parser.add_argument("--quick", action="store_true", help="100,000 rows, 1 run (a smoke test)")
    args = parser.parse_args(argv)
    rows, repeat = (100_000, 1) if args.quick else (args.rows, args.repeat)

    before, after, accounts = make_snapshots(rows)
    pd_before, pd_after, pd_accounts = before.to_pandas(), after.to_pandas(), accounts.to_pandas()
    for frame in (pd_before, pd_after):
        for col in ("close_date", "stage_changed_on"):
            frame[col] = pd.to_datetime(frame[col])

    pl_time, pl_mem, pl_out = timed(lambda: revloop_polars(before, after, accounts), repeat)
    pd_time, pd_mem, pd_out = timed(lambda: straightforward_pandas(pd_before, pd_after, pd_accounts), repeat)
    signals = pl_out["signals"]
    for name in ("inserted", "deleted", "changed"):
        if pl_out[name] != pd_out[name]:
            raise SystemExit(f"implementations disagree on {name}: "
                             f"polars {pl_out[name]} vs pandas {pd_out[name]}")
    if sorted(signals["dedupe_key"].to_list()) != pd_out["signal_keys"]:
        raise SystemExit("implementations disagree on the signals raised")
    obj_time, _, objects = timed(lambda: to_signals(signals.head(5_000), observed_at=pd.Timestamp(
        OBSERVED_ON, tz="UTC").to_pydatetime(), source="bench"), 1)

    print(f"diff + signals, {rows:,} rows per snapshot: {pl_out['changed']:,} changed, "
          f"{pl_out['inserted']:,} inserted, {pl_out['deleted']:,} deleted -> {signals.height:,} signals "
          f"({signals['kind'].value_counts().sort('kind').rows()})")
    print(f"{'implementation':<24}{'wall s':>10}{'peak MiB':>12}")
    print(f"{'revloop (polars)':<24}{pl_time:>10.3f}{pl_mem:>12.0f}")
    print(f"{'straightforward pandas':<24}{pd_time:>10.3f}{pd_mem:>12.0f}")
    ratio = pd_time / pl_time
    print(f"speed-up vs pandas: {ratio:.1f}x   (target >= 2x)   wall: {pl_time:.3f} s   (target <= 1.0 s)")
    print(f"materializing Signal contracts: {len(objects) / obj_time:,.0f} signals/s "
          f"(only fired rules become objects)")
    if not args.quick:
        print("targets met" if pl_time <= 1.0 and ratio >= 2.0 else "TARGETS MISSED")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
