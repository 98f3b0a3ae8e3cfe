"""The Athena path of the saved queries, at the boto3 edge (botocore Stubber): the request sent, polling
with backoff, paginated typed results, and a typed error for FAILED, CANCELLED and a timeout."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ledger.analysis import get_query
from ledger.athena import (
    AthenaQueryCancelledError,
    AthenaQueryFailedError,
    AthenaQueryTimeoutError,
    AthenaRunner,
    athena_statement,
)

QID = "11111111-2222-3333-4444-555555555555"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def runner(timeout: float = 60.0) -> tuple[AthenaRunner, Stubber, FakeClock]:
    client = boto3.client("athena", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    clock = FakeClock()
    return (AthenaRunner(client, "revloop", workgroup="analysts", output_location="s3://results/revloop/",
                         timeout_seconds=timeout, sleep=clock.sleep, clock=clock),
            Stubber(client), clock)


def state(value: str, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": value}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": QID, "Status": status}}


def cell(value: str | None) -> dict[str, str]:
    return {} if value is None else {"VarCharValue": value}


COLUMNS = [{"Name": n, "Label": n, "Type": t} for n, t in
           [("tenant", "varchar"), ("signals", "bigint"), ("rate", "double"),
            ("at", "timestamp with time zone"), ("with_actions", "boolean")]]


def page(rows: list[list[str | None]], token: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"ResultSet": {"Rows": [{"Data": [cell(v) for v in r]} for r in rows],
                                         "ResultSetMetadata": {"ColumnInfo": COLUMNS}}}
    if token:
        out["NextToken"] = token
    return out


def test_named_parameters_become_positional_literals_outside_comments() -> None:
    sql, literals = athena_statement(get_query("signals_by_kind").sql, {"tenant": "o'brien"})
    code = "\n".join(line.split("--")[0] for line in sql.splitlines())
    assert "$tenant" not in code and code.count("?") == 2
    assert "Optional parameter: $tenant" in sql  # the comment is left as written
    assert literals == ["'o''brien'", "'o''brien'"]
    assert athena_statement("SELECT $a, $b", {"a": 3})[1] == ["3", "NULL"]


def test_a_saved_query_is_started_polled_with_backoff_and_read_across_pages() -> None:
    athena, stub, clock = runner()
    sql, literals = athena_statement(get_query("signals_by_kind").sql, {"tenant": "acme"})
    stub.add_response("start_query_execution", {"QueryExecutionId": QID}, {
        "QueryString": sql, "QueryExecutionContext": {"Database": "revloop"}, "ExecutionParameters": literals,
        "WorkGroup": "analysts", "ResultConfiguration": {"OutputLocation": "s3://results/revloop/"}})
    for s in ("QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"):
        stub.add_response("get_query_execution", state(s), {"QueryExecutionId": QID})
    header = [c["Label"] for c in COLUMNS]
    stub.add_response("get_query_results",
                      page([header, ["acme", "12", "0.5", "2025-03-01 10:00:00.000 UTC", "true"]], "t1"),
                      {"QueryExecutionId": QID})
    stub.add_response("get_query_results", page([["globex", "3", None, None, "false"]]),
                      {"QueryExecutionId": QID, "NextToken": "t1"})
    with stub:
        table = athena.run_saved("signals_by_kind", {"tenant": "acme"})
    stub.assert_no_pending_responses()
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert table.to_pylist() == [
        {"tenant": "acme", "signals": 12, "rate": 0.5, "at": datetime(2025, 3, 1, 10, tzinfo=UTC),
         "with_actions": True},
        {"tenant": "globex", "signals": 3, "rate": None, "at": None, "with_actions": False}]
    assert str(table.schema.field("signals").type) == "int64"


@pytest.mark.parametrize(("final", "error"), [("FAILED", AthenaQueryFailedError),
                                              ("CANCELLED", AthenaQueryCancelledError)])
def test_a_query_that_does_not_succeed_raises_a_typed_error_with_athenas_reason(
        final: str, error: type[Exception]) -> None:
    athena, stub, _ = runner()
    stub.add_response("start_query_execution", {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", state("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", state(final, "TABLE_NOT_FOUND: revloop.outcomes"),
                      {"QueryExecutionId": QID})
    with stub, pytest.raises(error, match="TABLE_NOT_FOUND") as info:
        athena.run("SELECT 1")
    assert info.value.execution_id == QID and info.value.state == final  # type: ignore[attr-defined]


def test_a_query_running_past_the_timeout_is_stopped() -> None:
    athena, stub, clock = runner(timeout=10)
    stub.add_response("start_query_execution", {"QueryExecutionId": QID})
    for _ in range(4):  # polls at 0, 0.5, 1.5, 3.5, 7.5 -> the next wait would pass 10 s
        stub.add_response("get_query_execution", state("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("get_query_execution", state("RUNNING"), {"QueryExecutionId": QID})
    stub.add_response("stop_query_execution", {}, {"QueryExecutionId": QID})
    with stub, pytest.raises(AthenaQueryTimeoutError, match="stopped"):
        athena.run("SELECT 1")
    stub.assert_no_pending_responses()
    assert clock.now <= 10


def test_unknown_parameters_are_refused_before_anything_is_sent() -> None:
    athena, stub, _ = runner()
    with stub, pytest.raises(ValueError, match="takes parameters"):
        athena.run_saved("loop_counts", {"tenat": "acme"})
