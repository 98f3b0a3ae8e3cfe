"""DemoConnector: pulls the latest daily export of a tenant from the demo world's export directory.

Records come back exactly as exported. Every column is text (a JSON number becomes its literal, a
nested value its JSON), because one feed can mix types in one field; perception's normalize parses."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import polars as pl

from connectors.records import RawSnapshot

_JSONL_OBJECTS: tuple[str, ...] = ("accounts", "contacts", "opportunities", "tasks", "activities")


class DemoExportMissing(FileNotFoundError):
    """The demo world has not exported anything for a tenant."""


class DemoConnector:
    source = "demo"

    def __init__(self, root: Path) -> None:
        self.root = root

    def export_days(self, tenant: str) -> list[date]:
        base = self.root / "exports" / tenant
        if not base.is_dir():
            return []
        days = []
        for entry in base.iterdir():
            try:
                days.append(date.fromisoformat(entry.name))
            except ValueError:
                continue  # a temp dir of an export being written
        return sorted(days)

    def pull(self, tenant: str, day: date | None = None) -> RawSnapshot:
        """The export of ``day`` (default: the latest exported day) as a raw snapshot."""
        days = self.export_days(tenant)
        if not days:
            raise DemoExportMissing(
                f"no demo exports for tenant {tenant!r} under {self.root / 'exports'}; create the demo "
                "world (DemoWorld.create) with this tenant, or check the tenant id")
        if day is None:
            day = days[-1]
        elif day not in days:
            raise DemoExportMissing(
                f"no demo export of tenant {tenant!r} for {day}; have {days[0]}..{days[-1]}")
        folder = self.root / "exports" / tenant / day.isoformat()
        objects = {name: read_jsonl_as_text(folder / f"{name}.jsonl") for name in _JSONL_OBJECTS}
        usage = pl.read_parquet(folder / "usage.parquet")
        objects["usage"] = usage.with_columns(pl.all().cast(pl.String))
        pulled_at = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
        return RawSnapshot(tenant=tenant, source=self.source, pulled_at=pulled_at, objects=objects)


def _as_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value)


def read_jsonl_as_text(path: Path) -> pl.DataFrame:
    if not path.exists():
        return pl.DataFrame()
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    columns: dict[str, list[str | None]] = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            columns.setdefault(key, [None] * i).append(_as_text(value))
        for values in columns.values():
            if len(values) < i + 1:
                values.append(None)
    return pl.DataFrame({k: pl.Series(k, v, dtype=pl.String) for k, v in columns.items()})
