"""The saved queries on Athena (boto3): start, poll with backoff until done or timed out, fetch every
page of results as an Arrow table with the columns' types.

The saved SQL is the same text DuckDB runs; its ``$name`` parameters become Athena's positional ``?``
execution parameters, given as SQL literals (strings quoted, NULL for a parameter not given)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from ledger.analysis import PARAMETER, get_query


class AthenaQueryError(RuntimeError):
    """An Athena query did not succeed; names the execution id, its state and Athena's reason."""

    def __init__(self, execution_id: str, state: str, reason: str) -> None:
        super().__init__(f"Athena query {execution_id} {state}: {reason}")
        self.execution_id = execution_id
        self.state = state
        self.reason = reason


class AthenaQueryFailedError(AthenaQueryError):
    pass


class AthenaQueryCancelledError(AthenaQueryError):
    pass


class AthenaQueryTimeoutError(AthenaQueryError):
    """Still running after the timeout; the query was asked to stop."""


def sql_literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def athena_statement(sql: str, params: dict[str, Any]) -> tuple[str, list[str]]:
    """The SQL with each ``$name`` (outside comments) replaced by ``?``, and the literals in order."""
    literals: list[str] = []
    lines = []
    for line in sql.splitlines():
        code, dashes, comment = line.partition("--")

        def positional(match: Any) -> str:
            literals.append(sql_literal(params.get(match.group(1))))
            return "?"

        lines.append(PARAMETER.sub(positional, code) + dashes + comment)
    return "\n".join(lines), literals


_CONVERT: dict[str, tuple[pa.DataType, Callable[[str], Any]]] = {
    "varchar": (pa.string(), str), "char": (pa.string(), str), "string": (pa.string(), str),
    "boolean": (pa.bool_(), lambda v: v.lower() == "true"),
    "tinyint": (pa.int64(), int), "smallint": (pa.int64(), int), "integer": (pa.int64(), int),
    "bigint": (pa.int64(), int), "double": (pa.float64(), float), "float": (pa.float64(), float),
    "real": (pa.float64(), float), "decimal": (pa.float64(), float),
    "date": (pa.date32(), date.fromisoformat),
    "timestamp": (pa.timestamp("us"), lambda v: datetime.fromisoformat(v)),
    "timestamp with time zone": (pa.timestamp("us", tz="UTC"),
                                 lambda v: datetime.fromisoformat(v.replace(" UTC", "+00:00"))),
}


class AthenaRunner:
    """Runs SQL on Athena through a boto3 ``athena`` client built by the caller."""

    def __init__(self, client: Any, database: str, *, workgroup: str | None = None,
                 output_location: str | None = None, timeout_seconds: float = 300.0,
                 first_poll_seconds: float = 0.5, max_poll_seconds: float = 5.0,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.database = database
        self.workgroup = workgroup
        self.output_location = output_location
        self.timeout_seconds = timeout_seconds
        self.first_poll_seconds = first_poll_seconds
        self.max_poll_seconds = max_poll_seconds
        self.sleep = sleep
        self.clock = clock

    def run_saved(self, name: str, params: dict[str, Any] | None = None) -> pa.Table:
        query = get_query(name)
        given = dict(params or {})
        unknown = sorted(set(given) - set(query.params))
        if unknown:
            raise ValueError(f"saved query {name!r} takes parameters {list(query.params)}, not {unknown}")
        sql, literals = athena_statement(query.sql, given)
        return self.run(sql, literals)

    def run(self, sql: str, parameters: list[str] | None = None) -> pa.Table:
        request: dict[str, Any] = {"QueryString": sql, "QueryExecutionContext": {"Database": self.database}}
        if parameters:
            request["ExecutionParameters"] = parameters
        if self.workgroup:
            request["WorkGroup"] = self.workgroup
        if self.output_location:
            request["ResultConfiguration"] = {"OutputLocation": self.output_location}
        execution_id = self.client.start_query_execution(**request)["QueryExecutionId"]
        self._wait(execution_id)
        return self._results(execution_id)

    def _wait(self, execution_id: str) -> None:
        deadline = self.clock() + self.timeout_seconds
        delay = self.first_poll_seconds
        while True:
            execution = self.client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]
            status = execution["Status"]
            state = status["State"]
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage", "")
            if state == "SUCCEEDED":
                return
            if state == "FAILED":
                raise AthenaQueryFailedError(execution_id, state, reason or "no reason given")
            if state == "CANCELLED":
                raise AthenaQueryCancelledError(execution_id, state, reason or "cancelled")
            if self.clock() + delay > deadline:
                self.client.stop_query_execution(QueryExecutionId=execution_id)
                raise AthenaQueryTimeoutError(execution_id, "TIMED OUT",
                                              f"still {state} after {self.timeout_seconds:.0f} s; it was "
                                              "stopped. Raise the timeout or narrow the query (--tenant)")
            self.sleep(delay)
            delay = min(delay * 2, self.max_poll_seconds)

    def _results(self, execution_id: str) -> pa.Table:
        paginator = self.client.get_paginator("get_query_results")
        columns: list[dict[str, Any]] = []
        values: list[list[Any]] = []
        header_skipped = False
        for page in paginator.paginate(QueryExecutionId=execution_id):
            result = page["ResultSet"]
            if not columns:
                columns = result["ResultSetMetadata"]["ColumnInfo"]
                values = [[] for _ in columns]
            for row in result["Rows"]:
                cells = [d.get("VarCharValue") for d in row["Data"]]
                if not header_skipped:  # a SELECT's first row repeats the column labels
                    header_skipped = True
                    if cells == [c["Label"] for c in columns]:
                        continue
                for i, (cell, column) in enumerate(zip(cells, columns, strict=True)):
                    convert = _CONVERT.get(column["Type"].lower(), (pa.string(), str))[1]
                    values[i].append(None if cell is None else convert(cell))
        return pa.table({c["Label"]: pa.array(v, _CONVERT.get(c["Type"].lower(), (pa.string(),))[0])
                         for c, v in zip(columns, values, strict=True)})
