"""``revloop analyze``: list, run each saved query on the local tables in every format, plot it, and
report an Athena failure (boto3 edge stubbed) as an error exit."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from typer.testing import CliRunner

from ledger.analysis import list_queries, run_query
from ledger.iceberg import IcebergWarehouse
from revloop.commands.analyze import app
from revloop.settings import load_settings
from tests.integration.test_ledger_outcome_analysis import DemoRun, run_the_loop


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("analyze")
    paths = load_settings(data_dir=root).paths
    (root / "run").mkdir()
    run = DemoRun(root / "run")
    run.warehouse = IcebergWarehouse(paths.iceberg_catalog, paths.iceberg_warehouse)
    run_the_loop(run)
    run.export()
    return root


def invoke(data_dir: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"REVLOOP_DATA_DIR": str(data_dir)})
    return result.exit_code, result.stdout, result.stderr


def test_list_names_every_saved_query_with_its_description(data_dir: Path) -> None:
    code, out, _ = invoke(data_dir, "--list")
    assert code == 0
    for q in list_queries():
        assert q.name in out and q.description[:40] in out


@pytest.mark.parametrize("name", [q.name for q in list_queries()])
def test_each_query_prints_what_duckdb_returns_in_each_format(data_dir: Path, name: str) -> None:
    paths = load_settings(data_dir=data_dir).paths
    expected = run_query(IcebergWarehouse(paths.iceberg_catalog, paths.iceberg_warehouse), name,
                         {"tenant": "acme"}).to_pylist()
    assert expected, f"{name} has no rows for acme in the demo run"
    code, out, _ = invoke(data_dir, name, "--tenant", "acme", "--format", "json")
    assert code == 0, out
    assert json.loads(out) == json.loads(json.dumps(expected, default=str))
    code, out, _ = invoke(data_dir, name, "--tenant", "acme", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert code == 0 and len(parsed) == len(expected) and {r["tenant"] for r in parsed} == {"acme"}
    code, out, _ = invoke(data_dir, name, "--tenant", "acme")
    assert code == 0 and out.strip().endswith(f"({len(expected)} row{'s' if len(expected) != 1 else ''})")


def test_plot_writes_a_png_of_the_result(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "plots" / "win_churn.png"
    code, _, err = invoke(data_dir, "win_churn_by_action", "--plot", str(target))
    assert code == 0 and str(target) in err
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and target.stat().st_size > 2000


def test_an_unknown_query_names_the_saved_ones(data_dir: Path) -> None:
    code, _, err = invoke(data_dir, "win_rates")
    assert code == 2 and "no saved query named 'win_rates'" in err and "loop_counts" in err


def test_an_athena_failure_exits_non_zero_with_athenas_reason(data_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("athena", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(client)
    stub.add_response("start_query_execution", {"QueryExecutionId": "q-1"})
    stub.add_response("get_query_execution", {"QueryExecution": {"QueryExecutionId": "q-1", "Status": {
        "State": "FAILED", "StateChangeReason": "SYNTAX_ERROR: line 1:8"}}})
    made: list[dict[str, Any]] = []

    def fake_client(service: str, **kwargs: Any) -> Any:
        made.append({"service": service, **kwargs})
        return client

    monkeypatch.setattr(boto3, "client", fake_client)
    with stub:
        code, _, err = invoke(data_dir, "loop_counts", "--engine", "athena", "--athena-region", "eu-west-1")
    assert code == 1 and "ATHENA QUERY FAILED" in err and "SYNTAX_ERROR" in err
    assert made == [{"service": "athena", "region_name": "eu-west-1"}]
