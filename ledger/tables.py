"""The Iceberg tables the loop is exported to, and the checks a row must pass to enter one.

Every table is partitioned by ``identity(tenant)`` and ``day(<its timestamp column>)``, so a query for
one tenant and a date range (Athena in AWS, DuckDB locally) reads only those files, and a Dagster
backfill of one tenant × day touches one partition.

| table          | key (one row per key)           | timestamp (day partition) |
|----------------|---------------------------------|---------------------------|
| signals        | tenant, signal_id               | observed_at               |
| proposals      | tenant, proposal_id, version    | created_at                |
| decisions      | tenant, decision_id             | decided_at                |
| actions        | tenant, idempotency_key         | executed_at               |
| outcomes       | tenant, outcome_id              | observed_at               |
| ledger_entries | tenant, seq                     | recorded_at               |

Rows arrive as plain dicts. Timestamps may be timezone-aware datetimes or ISO-8601 strings with an
offset (``Z`` included); both are stored as UTC microseconds (``timestamptz``). Naive times are refused:
the day partition of a time without a zone is a guess."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import DayTransform, IdentityTransform
from pyiceberg.types import (
    DoubleType,
    IcebergType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from ledger.entry import LedgerEntry

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)


class RowValidationError(ValueError):
    """A row handed to the export does not fit its table; names the table, row and column."""

    def __init__(self, table: str, row_index: int, column: str | None, problem: str,
                 row_key: str = "") -> None:
        where = f"table {table!r}, row {row_index}{row_key}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {problem}")
        self.table = table
        self.row_index = row_index
        self.column = column
        self.problem = problem


@dataclass(frozen=True)
class TableDef:
    name: str
    schema: Schema
    partition_spec: PartitionSpec
    key: tuple[str, ...]
    time_column: str
    allowed_values: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.schema.fields)

    def arrow_schema(self) -> pa.Schema:
        return self.schema.as_arrow()


def define_table(name: str, columns: Sequence[tuple[str, IcebergType, bool]], key: tuple[str, ...],
                 time_column: str, allowed_values: Mapping[str, frozenset[str]] | None = None) -> TableDef:
    """A table partitioned by identity(tenant) and day(time_column); columns are (name, type, required)."""
    fields = [NestedField(field_id=i, name=col, field_type=typ, required=required)
              for i, (col, typ, required) in enumerate(columns, start=1)]
    ids = {f.name: f.field_id for f in fields}
    schema = Schema(*fields, identifier_field_ids=[ids[k] for k in key])
    spec = PartitionSpec(
        PartitionField(source_id=ids["tenant"], field_id=1000, transform=IdentityTransform(), name="tenant"),
        PartitionField(source_id=ids[time_column], field_id=1001, transform=DayTransform(),
                       name=f"{time_column}_day"),
    )
    return TableDef(name, schema, spec, key, time_column, dict(allowed_values or {}))


_S, _I, _L, _D, _T = StringType(), IntegerType(), LongType(), DoubleType(), TimestamptzType()

TABLES: dict[str, TableDef] = {t.name: t for t in (
    define_table("signals", [
        ("tenant", _S, True), ("signal_id", _S, True), ("account_id", _S, True), ("entity_id", _S, True),
        ("kind", _S, True), ("severity", _S, True), ("source", _S, False), ("observed_at", _T, True),
        ("trace_id", _S, False),  # added after the first release: older tables gain it on the next write
    ], key=("tenant", "signal_id"), time_column="observed_at"),
    define_table("proposals", [
        ("tenant", _S, True), ("proposal_id", _S, True), ("version", _I, True), ("account_id", _S, True),
        ("action_type", _S, True), ("risk_tier", _S, True), ("confidence", _D, True), ("status", _S, True),
        ("created_at", _T, True),
    ], key=("tenant", "proposal_id", "version"), time_column="created_at"),
    define_table("decisions", [
        ("tenant", _S, True), ("decision_id", _S, True), ("proposal_id", _S, True), ("stage", _S, True),
        ("outcome", _S, True), ("actor", _S, False), ("decided_at", _T, True),
        ("reasons", _S, False),  # policy stage: comma-separated determining policy ids, or evaluation_error
    ], key=("tenant", "decision_id"), time_column="decided_at",
        allowed_values={"stage": frozenset({"policy", "review"})}),
    define_table("actions", [
        ("tenant", _S, True), ("idempotency_key", _S, True), ("proposal_id", _S, True),
        ("action_type", _S, True), ("status", _S, True), ("executed_at", _T, True),
    ], key=("tenant", "idempotency_key"), time_column="executed_at"),
    define_table("outcomes", [
        ("tenant", _S, True), ("outcome_id", _S, True), ("account_id", _S, True), ("entity_id", _S, True),
        ("kind", _S, True), ("source", _S, True), ("observed_at", _T, True), ("value", _D, False),
        ("prior_proposals", _I, True), ("prior_actions_executed", _I, True),
        ("last_proposal_id", _S, False), ("last_action_key", _S, False),
    ], key=("tenant", "outcome_id"), time_column="observed_at"),
    define_table("ledger_entries", [
        ("tenant", _S, True), ("seq", _L, True), ("kind", _S, True), ("actor", _S, True),
        ("recorded_at", _T, True), ("entry_hash", _S, True),
    ], key=("tenant", "seq"), time_column="recorded_at"),
)}


def table_def(name: str) -> TableDef:
    try:
        return TABLES[name]
    except KeyError:
        raise ValueError(f"unknown Iceberg table {name!r}; the tables are: {', '.join(TABLES)}") from None


def _timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError(f"expected a datetime or ISO-8601 string, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()!r} has no time zone; give an aware datetime or an offset "
                         "such as +00:00 or Z")
    return value.astimezone(UTC)


def _integer(value: Any, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {type(value).__name__} {value!r}")
    if not bounds[0] <= value <= bounds[1]:
        raise ValueError(f"{value} is outside the column's range {bounds[0]}..{bounds[1]}")
    return value


def _double(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {type(value).__name__} {value!r}")
    return str(value)  # StrEnum members become their plain value


def _convert(typ: IcebergType, value: Any) -> Any:
    if isinstance(typ, TimestamptzType):
        return _timestamp(value)
    if isinstance(typ, IntegerType):
        return _integer(value, _INT32)
    if isinstance(typ, LongType):
        return _integer(value, _INT64)
    if isinstance(typ, DoubleType):
        return _double(value)
    return _string(value)


def _row_key(table: TableDef, row: Mapping[str, Any]) -> str:
    parts = [f"{k}={row[k]!r}" for k in table.key if isinstance(row, Mapping) and k in row]
    return f" ({', '.join(parts)})" if parts else ""


def validate_rows(table: TableDef, rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Check every row against the table's schema; returns normalised copies (UTC datetimes, plain str).

    Raises RowValidationError at the first bad row: unknown or missing columns, wrong types, naive
    timestamps, or values outside a column's allowed set."""
    columns = set(table.columns)
    out: list[dict[str, Any]] = []
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise RowValidationError(table.name, index, None,
                                     f"expected a dict of column -> value, got {type(row).__name__}")
        key = _row_key(table, row)
        unknown = sorted(set(row) - columns)
        if unknown:
            raise RowValidationError(table.name, index, unknown[0],
                                     f"unknown column(s) {unknown}; the table's columns are "
                                     f"{list(table.columns)}", key)
        clean: dict[str, Any] = {}
        for f in table.schema.fields:
            value = row.get(f.name)
            if value is None:
                if f.required:
                    raise RowValidationError(table.name, index, f.name, "missing a required value", key)
                clean[f.name] = None
                continue
            try:
                clean[f.name] = _convert(f.field_type, value)
            except ValueError as exc:
                raise RowValidationError(table.name, index, f.name, str(exc), key) from None
            allowed = table.allowed_values.get(f.name)
            if allowed is not None and clean[f.name] not in allowed:
                raise RowValidationError(table.name, index, f.name,
                                         f"{value!r} is not one of {sorted(allowed)}", key)
        out.append(clean)
    return out


def to_arrow(table: TableDef, rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """Validated rows as an Arrow table whose schema matches the Iceberg table's exactly."""
    return pa.Table.from_pylist(validate_rows(table, rows), schema=table.arrow_schema())


def ledger_entry_rows(entries: Iterable[LedgerEntry]) -> list[dict[str, Any]]:
    """Rows for the ``ledger_entries`` table: the chain's headers, not the payloads (they stay in the
    operational store, where the hash chain is verified)."""
    return [{"tenant": e.tenant, "seq": e.seq, "kind": e.kind, "actor": e.actor,
             "recorded_at": e.recorded_at, "entry_hash": e.entry_hash} for e in entries]
