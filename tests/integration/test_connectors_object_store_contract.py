"""One contract for raw snapshot stores, run against the local filesystem and S3 (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import polars as pl
import pytest
from moto import mock_aws

from connectors.object_store import LocalObjectStore, SnapshotConflict, SnapshotNotFound
from connectors.records import RawSnapshot
from connectors.s3_store import RawSnapshotStore, S3ObjectStore, open_object_store

AT = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def _snapshot(at: datetime = AT, names: tuple[str, ...] = ("Acme", "Globex")) -> RawSnapshot:
    accounts = pl.DataFrame({"Id": [f"A{i}" for i in range(len(names))], "Name": list(names),
                             "Arr": ["10", None][: len(names)]})
    contacts = pl.DataFrame({"Id": ["C1"], "AccountId": ["A0"]})
    return RawSnapshot("acme", "hubspot", at, {"accounts": accounts, "contacts": contacts})


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RawSnapshotStore]:
    if request.param == "local":
        yield LocalObjectStore(tmp_path / "lake")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="revloop-raw")
        yield S3ObjectStore("s3://revloop-raw/team/lake", client=client)


def test_a_written_snapshot_reads_back_with_every_object_and_row(store: RawSnapshotStore) -> None:
    snapshot = _snapshot()
    written = store.write_snapshot(snapshot)
    assert len(written) == 2
    back = store.read_snapshot("acme", "hubspot", AT)
    assert back.pulled_at == AT
    assert sorted(back.objects) == ["accounts", "contacts"]
    assert back.objects["accounts"].equals(snapshot.objects["accounts"], null_equal=True)


def test_rewriting_the_same_snapshot_is_a_no_op(store: RawSnapshotStore) -> None:
    first = store.write_snapshot(_snapshot())
    assert store.write_snapshot(_snapshot()) == first
    assert store.list_snapshots("acme", "hubspot") == [AT]


def test_different_content_at_an_existing_address_is_refused(store: RawSnapshotStore) -> None:
    store.write_snapshot(_snapshot())
    with pytest.raises(SnapshotConflict, match="immutable"):
        store.write_snapshot(_snapshot(names=("Acme", "Initech")))
    back = store.read_snapshot("acme", "hubspot", AT)
    assert back.objects["accounts"]["Name"].to_list() == ["Acme", "Globex"]


def test_list_is_sorted_and_scoped_to_tenant_and_source(store: RawSnapshotStore) -> None:
    later = datetime(2025, 3, 2, tzinfo=UTC)
    store.write_snapshot(_snapshot(later))
    store.write_snapshot(_snapshot(AT))
    store.write_snapshot(RawSnapshot("globex", "hubspot", AT, {"accounts": pl.DataFrame({"Id": ["G"]})}))
    assert store.list_snapshots("acme", "hubspot") == [AT, later]
    assert store.list_snapshots("acme", "salesforce") == []


def test_a_missing_snapshot_says_so(store: RawSnapshotStore) -> None:
    with pytest.raises(SnapshotNotFound, match="list_snapshots"):
        store.read_snapshot("acme", "hubspot", AT)


def test_unsafe_key_parts_are_refused(store: RawSnapshotStore) -> None:
    with pytest.raises(ValueError, match="cannot be part of an object key"):
        store.write_snapshot(RawSnapshot("../etc", "hubspot", AT, {"accounts": pl.DataFrame({"Id": ["x"]})}))


def test_an_incremental_snapshot_reads_back_partial_with_its_cursors(store: RawSnapshotStore) -> None:
    mark = datetime(2025, 3, 1, 11, 59, tzinfo=UTC)
    partial = RawSnapshot("acme", "hubspot", AT, {"accounts": pl.DataFrame({"Id": ["A1"]})},
                          complete=False, cursors={"companies": mark})
    store.write_snapshot(partial)
    back = store.read_snapshot("acme", "hubspot", AT)
    assert back.complete is False
    assert back.cursors == {"companies": mark}
    assert store.read_snapshot("acme", "hubspot", AT).objects["accounts"]["Id"].to_list() == ["A1"]
    assert store.list_snapshots("acme", "hubspot") == [AT]  # the manifest is not a snapshot of its own


def test_s3_addresses_objects_hive_style() -> None:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="revloop-raw")
        store = S3ObjectStore("s3://revloop-raw", client=client)
        uri = store.write_snapshot(_snapshot())[0]
        assert uri == "s3://revloop-raw/raw/tenant=acme/source=hubspot/object=accounts/" \
                      "pulled_at=20250301T120000Z.parquet"


def test_open_object_store_picks_the_adapter_from_the_uri(tmp_path: Path) -> None:
    assert isinstance(open_object_store(tmp_path), LocalObjectStore)
    local = open_object_store(f"file://{tmp_path}")
    assert isinstance(local, LocalObjectStore) and local.root == tmp_path
    s3 = open_object_store("s3://bucket/some/prefix", s3_client=object())
    assert isinstance(s3, S3ObjectStore) and (s3.bucket, s3.prefix) == ("bucket", "some/prefix")
    with pytest.raises(ValueError, match="unsupported object store"):
        open_object_store("gs://bucket/x")
