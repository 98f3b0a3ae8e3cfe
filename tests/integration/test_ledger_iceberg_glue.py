"""The AWS column of the warehouse: the same IcebergWarehouse on pyiceberg's Glue catalog with its data
and metadata in S3, against moto's server on a loopback port (pyiceberg's S3 FileIO is pyarrow's C++
client, which needs a real endpoint). Incremental appends, watermarks, schema evolution and the saved
queries behave as they do on the embedded SQL catalog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer
from pyiceberg.catalog.glue import GlueCatalog

import ledger.tables as tables
from ledger.analysis import run_query
from ledger.iceberg import IcebergWarehouse
from ledger.tables import define_table

BUCKET = "revloop-lake"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=url, **CREDENTIALS).create_bucket(Bucket=BUCKET)
    yield url
    server.stop()


@pytest.fixture
def warehouse(endpoint: str, request: pytest.FixtureRequest) -> IcebergWarehouse:
    glue = boto3.client("glue", endpoint_url=endpoint, **CREDENTIALS)
    catalog = GlueCatalog("glue", client=glue, **{
        "warehouse": f"s3://{BUCKET}/warehouse", "s3.endpoint": endpoint, "s3.region": "us-east-1",
        "s3.access-key-id": "testing", "s3.secret-access-key": "testing"})
    return IcebergWarehouse.from_catalog(catalog, namespace=f"revloop_{request.node.name[-8:].lower()}")


def signals(tenant: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    t0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
    return [{"tenant": tenant, "signal_id": f"{tenant}-s{i}", "account_id": f"acc-{i % 3}",
             "entity_id": f"e{i}", "kind": "usage_drop" if i % 2 else "deal_slipped", "severity": "high",
             "source": "demo", "observed_at": t0 + timedelta(hours=7 * i), "trace_id": None}
            for i in range(start, start + count)]


def test_rows_land_in_s3_once_with_their_watermarks(warehouse: IcebergWarehouse, endpoint: str) -> None:
    assert warehouse.append_new("signals", signals("acme", 6) + signals("globex", 3),
                                watermarks={"acme": "2025-03-02T20:00:00+00:00"}) == 9
    assert warehouse.append_new("signals", signals("acme", 8)) == 2  # six already there
    assert warehouse.row_count("signals") == 11
    assert warehouse.watermarks("signals") == {"acme": "2025-03-02T20:00:00+00:00"}
    table = warehouse.load("signals")
    assert table is not None and table.location().startswith(f"s3://{BUCKET}/warehouse/")
    keys = [o["Key"] for o in boto3.client("s3", endpoint_url=endpoint, **CREDENTIALS)
            .list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any("/data/tenant=acme/observed_at_day=2025-03-01/" in k and k.endswith(".parquet") for k in keys)
    assert any(k.endswith(".metadata.json") for k in keys)
    glue = boto3.client("glue", endpoint_url=endpoint, **CREDENTIALS)
    found = glue.get_table(DatabaseName=warehouse.namespace, Name="signals")["Table"]
    assert found["Parameters"]["table_type"].upper() == "ICEBERG"


def test_saved_queries_read_the_s3_tables(warehouse: IcebergWarehouse) -> None:
    warehouse.append_new("signals", signals("acme", 5) + signals("globex", 2))
    result = run_query(warehouse, "signals_by_kind").to_pylist()
    got = {(r["tenant"], r["kind"]): r["signals"] for r in result}
    assert got == {("acme", "deal_slipped"): 3, ("acme", "usage_drop"): 2, ("globex", "deal_slipped"): 1,
                   ("globex", "usage_drop"): 1}


def test_an_older_glue_table_gains_a_new_optional_column(
        warehouse: IcebergWarehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    current = tables.TABLES["signals"]
    columns = [(f.name, f.field_type, f.required) for f in current.schema.fields if f.name != "trace_id"]
    older = define_table("signals", columns, key=current.key, time_column=current.time_column)
    monkeypatch.setitem(tables.TABLES, "signals", older)
    warehouse.append_new("signals", [{k: v for k, v in r.items() if k != "trace_id"}
                                     for r in signals("acme", 2)])
    monkeypatch.setitem(tables.TABLES, "signals", current)
    new = signals("acme", 1, start=2)
    new[0]["trace_id"] = "0af7651916cd43dd8448eb211c80319c"
    assert warehouse.append_new("signals", new) == 1
    by_id = {r["signal_id"]: r["trace_id"] for r in warehouse.scan("signals").to_pylist()}
    assert by_id == {"acme-s0": None, "acme-s1": None, "acme-s2": "0af7651916cd43dd8448eb211c80319c"}
