"""TelemetryConnector: daily product usage from Parquet files or an Iceberg table, as the "usage" object.

The rows keep the producer's own columns (as text); the connector adds ``revloop.*`` copies under
fixed names the "telemetry" source mapping reads, and says which account key the feed carries
(``revloop.account_key_type``: ``domain`` or ``crm_account_id``) so entity resolution can link it to
a CRM account. The raw key stays in ``revloop.account_key``, unnormalized.

Incremental pulls re-read the last ``lookback`` days before the cursor (usage for a day often lands
late); rows whose day does not parse are always included so normalize quarantines them."""

from __future__ import annotations

import glob
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

import polars as pl

from connectors.cursors import CursorStore
from connectors.records import RawSnapshot

AccountKeyType = Literal["domain", "crm_account_id"]
_OBJECT = "usage"


@dataclass(frozen=True)
class TelemetryColumns:
    """The producer's column names. ``tenant`` set: rows of other tenants in the feed are skipped."""

    account_key: str = "account_domain"
    account_key_type: AccountKeyType = "domain"
    product: str = "product"
    day: str = "day"
    active_users: str = "active_users"
    seats_used: str = "seats_used"
    tenant: str | None = None


def _day(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)


class UsageSource(Protocol):
    def read(self, columns: TelemetryColumns, since: date | None, tenant: str) -> pl.DataFrame: ...


def _scoped(frame: pl.LazyFrame, columns: TelemetryColumns, since: date | None, tenant: str) -> pl.LazyFrame:
    if columns.tenant is not None:
        frame = frame.filter(pl.col(columns.tenant).cast(pl.String) == tenant)
    if since is not None:
        parsed = _day(columns.day)
        frame = frame.filter(parsed.is_null() | (parsed >= since))
    return frame


class ParquetUsage:
    """Parquet files: a directory (every ``*.parquet`` below it) or a glob pattern."""

    def __init__(self, location: str | Path) -> None:
        path = Path(location)
        self.pattern = str(path / "**" / "*.parquet") if path.is_dir() else str(location)

    def read(self, columns: TelemetryColumns, since: date | None, tenant: str) -> pl.DataFrame:
        files = sorted(glob.glob(self.pattern, recursive=True))
        if not files:
            raise FileNotFoundError(f"no telemetry Parquet files match {self.pattern}; check the path "
                                    "or glob the telemetry source was configured with")
        # Files are read one by one and as text: a producer's schema drifts (a day written as a
        # string in one file, a date in the next) and that must not fail the whole pull.
        frames = [_scoped(pl.scan_parquet(f).with_columns(pl.all().cast(pl.String)), columns, since, tenant)
                  .collect() for f in files]
        return pl.concat(frames, how="diagonal")


class IcebergUsage:
    """An Iceberg table (``catalog.load_table(name)``, any pyiceberg catalog: SQL, Glue, REST)."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def read(self, columns: TelemetryColumns, since: date | None, tenant: str) -> pl.DataFrame:
        from pyiceberg.expressions import AlwaysTrue, And, EqualTo, GreaterThanOrEqual, IsNull, Or

        # Push the cheap predicates down to file pruning; the exact filter runs again in polars.
        row_filter: Any = AlwaysTrue()
        if since is not None:
            row_filter = Or(GreaterThanOrEqual(columns.day, since.isoformat()), IsNull(columns.day))
        if columns.tenant is not None:
            row_filter = And(row_filter, EqualTo(columns.tenant, tenant))
        arrow = self.table.scan(row_filter=row_filter).to_arrow()
        frame = pl.from_arrow(arrow)
        assert isinstance(frame, pl.DataFrame)
        return _scoped(frame.lazy(), columns, since, tenant).collect()


class TelemetryConnector:
    source = "telemetry"

    def __init__(self, usage: UsageSource, *, columns: TelemetryColumns | None = None,
                 cursors: CursorStore | None = None, lookback: timedelta = timedelta(days=2),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._usage = usage
        self._columns = columns or TelemetryColumns()
        self._cursors = cursors
        self._lookback = lookback
        self._now = now

    def pull(self, tenant: str, full: bool = False) -> RawSnapshot:
        pulled_at = self._now().astimezone(UTC).replace(microsecond=0)
        mark = None if full or self._cursors is None else self._cursors.get(tenant, self.source).get(_OBJECT)
        since = (mark - self._lookback).date() if mark is not None else None
        raw = self._usage.read(self._columns, since, tenant)
        c = self._columns
        missing = [n for n in (c.account_key, c.product, c.day, c.active_users, c.seats_used)
                   if n not in raw.columns]
        if missing:
            raise ValueError(f"telemetry rows lack the configured columns {missing}; have {raw.columns}. "
                             "Set TelemetryColumns to the feed's column names")
        frame = raw.with_columns(pl.all().cast(pl.String)).with_columns(
            pl.col(c.account_key).alias("revloop.account_key"),
            pl.lit(c.account_key_type).alias("revloop.account_key_type"),
            pl.col(c.product).alias("revloop.product"),
            pl.col(c.day).alias("revloop.day"),
            pl.col(c.active_users).alias("revloop.active_users"),
            pl.col(c.seats_used).alias("revloop.seats_used"),
        )
        latest = raw.select(_day(c.day).max()).item() if raw.height else None
        cursors = {}
        if latest is not None or mark is not None:
            reached = datetime.combine(latest, time(0), tzinfo=UTC) if latest is not None else mark
            cursors[_OBJECT] = max(m for m in (reached, mark) if m is not None)
        return RawSnapshot(tenant, self.source, pulled_at, {_OBJECT: frame}, complete=mark is None,
                           cursors=cursors)
