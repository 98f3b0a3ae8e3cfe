"""Normalized snapshots as Parquet: root/normalized/tenant=<t>/source=<s>/pulled_at=<stamp>/<table>.parquet

Each snapshot directory is written to a temporary name and renamed into place, so a reader never sees
half a snapshot. Writing the same snapshot again replaces it (normalization is deterministic, and a
fixed normalizer must be able to rewrite what an older one produced)."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from connectors.object_store import stamp
from perception.normalize import NormalizedSnapshot

_STAMP = "%Y%m%dT%H%M%SZ"


class NormalizedSnapshotStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _tenant_dir(self, tenant: str) -> Path:
        return self.root / "normalized" / f"tenant={tenant}"

    def write(self, ns: NormalizedSnapshot) -> Path:
        target = self._tenant_dir(ns.tenant) / f"source={ns.source}" / f"pulled_at={stamp(ns.pulled_at)}"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".tmp-{uuid.uuid4().hex}"
        tmp.mkdir()
        for name, frame in ns.tables.items():
            frame.write_parquet(tmp / f"{name}.parquet")
        ns.quarantine.write_parquet(tmp / "_quarantine.parquet")
        (tmp / "_snapshot.json").write_text(json.dumps(
            {"tenant": ns.tenant, "source": ns.source, "pulled_at": ns.pulled_at.isoformat(),
             "tables": sorted(ns.tables)}), encoding="utf-8")
        if target.exists():
            old = target.parent / f".old-{uuid.uuid4().hex}"
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(target)
        return target

    def _dirs(self, tenant: str) -> list[tuple[datetime, Path]]:
        base = self._tenant_dir(tenant)
        found = []
        for folder in base.glob("source=*/pulled_at=*") if base.exists() else []:
            if (folder / "_snapshot.json").exists():
                at = datetime.strptime(folder.name.removeprefix("pulled_at="), _STAMP).replace(tzinfo=UTC)
                found.append((at, folder))
        return sorted(found)

    def list(self, tenant: str) -> list[datetime]:
        return sorted({at for at, _ in self._dirs(tenant)})

    def latest(self, tenant: str) -> NormalizedSnapshot | None:
        dirs = self._dirs(tenant)
        return _read(dirs[-1][1]) if dirs else None

    def previous(self, tenant: str, before: datetime) -> NormalizedSnapshot | None:
        earlier = [folder for at, folder in self._dirs(tenant) if at < before]
        return _read(earlier[-1]) if earlier else None

    def read(self, tenant: str, pulled_at: datetime) -> NormalizedSnapshot | None:
        matches = [folder for at, folder in self._dirs(tenant) if at == pulled_at.astimezone(UTC)]
        return _read(matches[-1]) if matches else None


def _read(folder: Path) -> NormalizedSnapshot:
    meta = json.loads((folder / "_snapshot.json").read_text(encoding="utf-8"))
    tables = {name: pl.read_parquet(folder / f"{name}.parquet") for name in meta["tables"]}
    return NormalizedSnapshot(meta["tenant"], meta["source"], datetime.fromisoformat(meta["pulled_at"]),
                              tables, pl.read_parquet(folder / "_quarantine.parquet"))
