"""Raw snapshots in S3, with the same keys and the same write-once contract as LocalObjectStore.

    s3://bucket/prefix/raw/tenant=<t>/source=<s>/object=<o>/pulled_at=<YYYYMMDDTHHMMSSZ>.parquet

Immutability uses S3 conditional writes (``If-None-Match: *``): a second writer of the same address
gets 412, then the stored object is compared and the write is either a no-op (same rows) or a
SnapshotConflict. A small JSON manifest next to the objects keeps ``complete`` and ``cursors`` so an
incremental snapshot read back is still known to be partial."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import polars as pl

from connectors.object_store import (
    _STAMP,
    LocalObjectStore,
    SnapshotConflict,
    SnapshotNotFound,
    _part,
    stamp,
)
from connectors.records import RawSnapshot

_CONFLICT_CODES = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class RawSnapshotStore(Protocol):
    def write_snapshot(self, snapshot: RawSnapshot) -> list[str]: ...

    def read_snapshot(self, tenant: str, source: str, pulled_at: datetime) -> RawSnapshot: ...

    def list_snapshots(self, tenant: str, source: str) -> list[datetime]: ...


def _error_code(error: Exception) -> str:
    response: dict[str, Any] = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


class S3ObjectStore:
    def __init__(self, uri: str, client: Any | None = None) -> None:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an S3 URI: {uri!r}; expected s3://bucket/optional/prefix")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        if client is None:
            import boto3  # the AWS SDK's own credential chain applies (role, profile, env)

            client = boto3.client("s3")
        self.client = client

    def _base(self, tenant: str, source: str) -> str:
        parts = [self.prefix] if self.prefix else []
        return "/".join([*parts, "raw", _part("tenant", tenant), _part("source", source)])

    def key(self, tenant: str, source: str, object_: str, pulled_at: datetime) -> str:
        return f"{self._base(tenant, source)}/{_part('object', object_)}/pulled_at={stamp(pulled_at)}.parquet"

    def _manifest_key(self, tenant: str, source: str, pulled_at: datetime) -> str:
        return f"{self._base(tenant, source)}/_manifest/pulled_at={stamp(pulled_at)}.json"

    def _uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def write_snapshot(self, snapshot: RawSnapshot) -> list[str]:
        """Write every object of the snapshot; returns the URIs written (or already present)."""
        written = []
        for object_, frame in sorted(snapshot.objects.items()):
            key = self.key(snapshot.tenant, snapshot.source, object_, snapshot.pulled_at)
            buffer = io.BytesIO()
            frame.write_parquet(buffer)
            self._put_once(key, buffer.getvalue(), lambda body, f=frame: _same_frame(body, f))
            written.append(self._uri(key))
        manifest = json.dumps({"complete": snapshot.complete,
                               "cursors": {k: v.astimezone(UTC).isoformat()
                                           for k, v in sorted(snapshot.cursors.items())}},
                              sort_keys=True).encode()
        self._put_once(self._manifest_key(snapshot.tenant, snapshot.source, snapshot.pulled_at),
                       manifest, lambda body: body == manifest)
        return written

    def _put_once(self, key: str, body: bytes, same: Any) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
            return
        except Exception as error:
            if _error_code(error) not in _CONFLICT_CODES:
                raise
        existing = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        if not same(existing):
            raise SnapshotConflict(
                f"{self._uri(key)} already holds a different snapshot; raw snapshots are immutable, so "
                "pull again with a new pulled_at instead of rewriting this one")

    def _get(self, key: str) -> bytes | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except Exception as error:
            if _error_code(error) in {"NoSuchKey", "404"}:
                return None
            raise

    def _keys(self, prefix: str, delimiter: str | None = None) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        kwargs = {"Bucket": self.bucket, "Prefix": prefix, **({"Delimiter": delimiter} if delimiter else {})}
        found: list[str] = []
        for page in paginator.paginate(**kwargs):
            if delimiter:
                found.extend(p["Prefix"] for p in page.get("CommonPrefixes", []))
            else:
                found.extend(o["Key"] for o in page.get("Contents", []))
        return found

    def read_snapshot(self, tenant: str, source: str, pulled_at: datetime) -> RawSnapshot:
        base = self._base(tenant, source)
        name = f"pulled_at={stamp(pulled_at)}.parquet"
        objects = {}
        for folder in sorted(self._keys(f"{base}/object=", delimiter="/")):
            body = self._get(f"{folder}{name}")
            if body is not None:
                objects[folder.rstrip("/").rsplit("object=", 1)[1]] = pl.read_parquet(io.BytesIO(body))
        if not objects:
            raise SnapshotNotFound(f"no raw snapshot of {tenant}/{source} pulled at {stamp(pulled_at)} "
                                   f"under {self._uri(base)}; list_snapshots() shows what exists")
        at = datetime.strptime(stamp(pulled_at), _STAMP).replace(tzinfo=UTC)
        manifest_body = self._get(self._manifest_key(tenant, source, pulled_at))
        manifest = json.loads(manifest_body) if manifest_body else {}
        cursors = {k: datetime.fromisoformat(v) for k, v in manifest.get("cursors", {}).items()}
        return RawSnapshot(tenant=tenant, source=source, pulled_at=at, objects=objects,
                           complete=manifest.get("complete", True), cursors=cursors)

    def list_snapshots(self, tenant: str, source: str) -> list[datetime]:
        stamps = {key.rsplit("/pulled_at=", 1)[1].removesuffix(".parquet")
                  for key in self._keys(f"{self._base(tenant, source)}/object=")
                  if key.endswith(".parquet") and "/pulled_at=" in key}
        return sorted(datetime.strptime(s, _STAMP).replace(tzinfo=UTC) for s in stamps)


def _same_frame(body: bytes, frame: pl.DataFrame) -> bool:
    existing = pl.read_parquet(io.BytesIO(body))
    return existing.schema == frame.schema and existing.equals(frame, null_equal=True)


def open_object_store(uri_or_path: str | Path, s3_client: Any | None = None
                      ) -> LocalObjectStore | S3ObjectStore:
    """``s3://bucket/prefix`` -> S3ObjectStore; a path or ``file://`` URI -> LocalObjectStore."""
    text = str(uri_or_path)
    if text.startswith("s3://"):
        return S3ObjectStore(text, client=s3_client)
    if "://" in text and not text.startswith("file://"):
        raise ValueError(f"unsupported object store {text!r}: use s3://bucket/prefix, file:///path or a path")
    return LocalObjectStore(Path(text.removeprefix("file://")))
