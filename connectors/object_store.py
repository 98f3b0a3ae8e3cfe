"""Raw snapshots on a local filesystem, laid out as they would be in S3 (Hive-style keys).

    root/raw/tenant=<t>/source=<s>/object=<o>/pulled_at=<YYYYMMDDTHHMMSSZ>.parquet

Addresses are immutable: writing the same snapshot again is a no-op, writing different content to an
existing address raises, so a retried pull can never silently rewrite history."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from connectors.records import RawSnapshot

_STAMP = "%Y%m%dT%H%M%SZ"
_SAFE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class SnapshotConflict(RuntimeError):
    """A different snapshot already exists at the same (tenant, source, object, pulled_at) address."""


class SnapshotNotFound(FileNotFoundError):
    """No stored snapshot at the requested address."""


def stamp(pulled_at: datetime) -> str:
    if pulled_at.tzinfo is None:
        raise ValueError(f"pulled_at must be timezone-aware, got naive {pulled_at.isoformat()}")
    return pulled_at.astimezone(UTC).strftime(_STAMP)


def _part(name: str, value: str) -> str:
    if not _SAFE.match(value):
        raise ValueError(f"{name} {value!r} cannot be part of an object key: use letters, digits, _ . -")
    return f"{name}={value}"


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _dir(self, tenant: str, source: str) -> Path:
        return self.root / "raw" / _part("tenant", tenant) / _part("source", source)

    def key(self, tenant: str, source: str, object_: str, pulled_at: datetime) -> Path:
        return self._dir(tenant, source) / _part("object", object_) / f"pulled_at={stamp(pulled_at)}.parquet"

    def write_snapshot(self, snapshot: RawSnapshot) -> list[str]:
        """Write every object of the snapshot; returns the paths written (or already present)."""
        written = []
        for object_, frame in sorted(snapshot.objects.items()):
            path = self.key(snapshot.tenant, snapshot.source, object_, snapshot.pulled_at)
            self._write_once(path, frame)
            written.append(str(path))
        self._write_manifest(snapshot)
        return written

    def _manifest(self, tenant: str, source: str, pulled_at: datetime) -> Path:
        return self._dir(tenant, source) / "_manifest" / f"pulled_at={stamp(pulled_at)}.json"

    def _write_manifest(self, snapshot: RawSnapshot) -> None:
        """`complete` and `cursors` next to the objects (the same layout as S3ObjectStore), write-once."""
        cursors = {k: v.astimezone(UTC).isoformat() for k, v in sorted(snapshot.cursors.items())}
        body = json.dumps({"complete": snapshot.complete, "cursors": cursors}, sort_keys=True)
        path = self._manifest(snapshot.tenant, snapshot.source, snapshot.pulled_at)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(path, "x") as fh:
                fh.write(body)
        except FileExistsError:
            if path.read_text() != body:
                raise SnapshotConflict(f"{path} already records a different manifest for this snapshot; "
                                       "raw snapshots are immutable") from None

    def _write_once(self, path: Path, frame: pl.DataFrame) -> None:
        if path.exists():
            self._same_or_raise(path, frame)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        frame.write_parquet(tmp)
        try:
            os.link(tmp, path)  # atomic create-if-absent: never replaces an existing object
        except FileExistsError:
            self._same_or_raise(path, frame)
        finally:
            tmp.unlink(missing_ok=True)

    @staticmethod
    def _same_or_raise(path: Path, frame: pl.DataFrame) -> None:
        existing = pl.read_parquet(path)
        if existing.schema != frame.schema or not existing.equals(frame, null_equal=True):
            raise SnapshotConflict(
                f"{path} already holds a different snapshot; raw snapshots are immutable, so pull "
                "again with a new pulled_at instead of rewriting this one")

    def read_snapshot(self, tenant: str, source: str, pulled_at: datetime) -> RawSnapshot:
        name = f"pulled_at={stamp(pulled_at)}.parquet"
        objects = {}
        base = self._dir(tenant, source)
        for folder in sorted(base.glob("object=*")) if base.exists() else []:
            if (folder / name).exists():
                objects[folder.name.removeprefix("object=")] = pl.read_parquet(folder / name)
        if not objects:
            raise SnapshotNotFound(f"no raw snapshot of {tenant}/{source} pulled at {stamp(pulled_at)} "
                                   f"under {base}; list_snapshots() shows what exists")
        at = datetime.strptime(stamp(pulled_at), _STAMP).replace(tzinfo=UTC)
        manifest_path = self._manifest(tenant, source, pulled_at)
        manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
        cursors = {k: datetime.fromisoformat(v) for k, v in manifest.get("cursors", {}).items()}
        return RawSnapshot(tenant=tenant, source=source, pulled_at=at, objects=objects,
                           complete=manifest.get("complete", True), cursors=cursors)

    def list_snapshots(self, tenant: str, source: str) -> list[datetime]:
        base = self._dir(tenant, source)
        stamps = {p.name.removeprefix("pulled_at=").removesuffix(".parquet")
                  for p in base.glob("object=*/pulled_at=*.parquet")} if base.exists() else set()
        return sorted(datetime.strptime(s, _STAMP).replace(tzinfo=UTC) for s in stamps)
