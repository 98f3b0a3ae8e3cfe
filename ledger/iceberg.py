"""Export to Iceberg tables through pyiceberg: a SQL catalog on SQLite + a local warehouse embedded,
any pyiceberg catalog (Glue, REST) in AWS through ``IcebergWarehouse.from_catalog``.

Delivery to the export is at-least-once; ``append_new`` makes its effect exactly-once by appending
only rows whose key is not in the table yet, in one commit. pyiceberg's own commit retry would rebase
a failed append onto a newer snapshot without re-checking keys (two exporters racing would both
land), so tables are created with retries off and ``append_new`` retries itself, re-reading the keys
each time.

Data files are written here (one Parquet file per tenant × day, through the table's FileIO, so
``file://`` and ``s3://`` alike) and committed with ``add_files``: pyiceberg's own ``append`` needs
the optional ``pyiceberg-core`` package to compute ``day()`` partitions, which this install lacks."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, GreaterThanOrEqual, In
from pyiceberg.table import Table

from ledger.iceberg_files import commit
from ledger.tables import TABLES, TableDef, table_def, to_arrow, validate_rows

_COMMIT_ATTEMPTS = 8
_TABLE_PROPERTIES = {
    "commit.retry.num-retries": "0",
    # add_files infers a file's partition from its min/max: a truncated tenant bound would not match
    "write.metadata.metrics.column.tenant": "full",
}


WATERMARK_PROPERTY = "revloop.watermarks"


def _watermark_properties(watermarks: Mapping[str, str] | None) -> dict[str, str]:
    if not watermarks:
        return {}
    return {WATERMARK_PROPERTY: json.dumps(dict(sorted(watermarks.items())), separators=(",", ":"))}


def _evolved(table: Table, definition: TableDef) -> Table:
    """Add the definition's columns the table lacks (new optional fields of a contract)."""
    have = {f.name for f in table.schema().fields}
    if all(f.name in have for f in definition.schema.fields):
        return table
    with table.update_schema() as update:
        update.union_by_name(definition.schema)
    return table


class WarehouseCommitError(RuntimeError):
    """A commit kept losing to concurrent writers; nothing of this call was committed."""


class IcebergWarehouse:
    """The loop's analysis tables in one Iceberg namespace; tables are created on first write."""

    def __init__(self, catalog_db: Path, warehouse_dir: Path, namespace: str = "revloop") -> None:
        catalog_db.parent.mkdir(parents=True, exist_ok=True)
        warehouse_dir.mkdir(parents=True, exist_ok=True)
        catalog = SqlCatalog(
            namespace,
            # timeout: concurrent exporters wait for SQLite's write lock instead of failing at once
            uri=f"sqlite:///{catalog_db.resolve()}?timeout=30",
            warehouse=warehouse_dir.resolve().as_uri(),
        )
        self._init(catalog, namespace)

    @classmethod
    def from_catalog(cls, catalog: Catalog, namespace: str = "revloop") -> IcebergWarehouse:
        """Use an already configured pyiceberg catalog (e.g. ``load_catalog("glue", ...)``)."""
        warehouse = cls.__new__(cls)
        warehouse._init(catalog, namespace)
        return warehouse

    def _init(self, catalog: Catalog, namespace: str) -> None:
        self.catalog = catalog
        self.namespace = namespace
        self._namespace_ready = False

    @staticmethod
    def table_names() -> tuple[str, ...]:
        return tuple(TABLES)

    def _identifier(self, name: str) -> str:
        return f"{self.namespace}.{name}"

    def load(self, table: str) -> Table | None:
        """The Iceberg table, or None when nothing was ever written to it."""
        table_def(table)
        try:
            return self.catalog.load_table(self._identifier(table))
        except NoSuchTableError:
            return None

    def _ensure(self, definition: TableDef) -> Table:
        if not self._namespace_ready:
            self.catalog.create_namespace_if_not_exists(self.namespace)
            self._namespace_ready = True
        identifier = self._identifier(definition.name)
        try:  # load first: create_table writes a metadata file even when the table already exists
            table = self.catalog.load_table(identifier)
        except NoSuchTableError:
            return self.catalog.create_table_if_not_exists(
                identifier, schema=definition.schema, partition_spec=definition.partition_spec,
                properties=_TABLE_PROPERTIES)
        return _evolved(table, definition)

    def append_new(self, table: str, rows: Sequence[Mapping[str, Any]],
                   key: tuple[str, ...] | None = None, watermarks: Mapping[str, str] | None = None) -> int:
        """Append the rows whose ``key`` (default: the table's key) is not in the table yet, in one
        commit; returns how many were appended. Repeats within ``rows`` count once (the first wins).
        Re-exporting rows already present adds nothing, even when their other columns differ.

        Keys are looked up only in the partitions (tenant x day) the rows fall in: a key's event time
        never changes. ``watermarks`` (per tenant, how far the caller has exported) are kept in the
        commit's snapshot summary; ``watermarks(table)`` reads them back."""
        definition = table_def(table)
        key = tuple(key) if key else definition.key
        missing = [k for k in key if k not in definition.columns]
        if not key or missing:
            raise ValueError(f"table {table!r}: key columns {missing or list(key)} are not columns of "
                             f"the table; its columns are {list(definition.columns)}")
        candidates = _first_per_key(validate_rows(definition, rows), key)
        if not candidates:
            return 0
        batch = pa.Table.from_pylist(candidates, schema=definition.arrow_schema())
        for _ in range(_COMMIT_ATTEMPTS):
            iceberg_table = self._ensure(definition)
            existing = _existing_keys(iceberg_table, key, batch, definition.time_column)
            fresh = batch if existing.num_rows == 0 else _anti_join(batch, existing, key)
            if fresh.num_rows == 0:
                return 0
            try:
                commit(iceberg_table, fresh, delete=None, properties=_watermark_properties(watermarks))
            except CommitFailedException:
                continue  # another writer committed first: its rows may now cover ours
            return fresh.num_rows
        raise WarehouseCommitError(f"table {table!r}: gave up appending after {_COMMIT_ATTEMPTS} "
                                   "attempts lost to concurrent commits; retry the export")

    def replace(self, table: str, rows: Sequence[Mapping[str, Any]], tenant: str | None = None,
                watermarks: Mapping[str, str] | None = None) -> int:
        """Overwrite the whole table (or only ``tenant``'s rows) with ``rows`` in one commit; for
        mutable state such as proposal status. Returns how many rows were written. ``watermarks`` as
        in ``append_new``."""
        definition = table_def(table)
        batch = to_arrow(definition, rows)
        _refuse_duplicate_keys(definition, batch)
        where: BooleanExpression = AlwaysTrue()
        if tenant is not None:
            others = sorted(set(batch.column("tenant").to_pylist()) - {tenant})
            if others:
                raise ValueError(f"table {table!r}: replace(tenant={tenant!r}) got rows of other "
                                 f"tenants {others}; pass each tenant's rows separately")
            where = EqualTo("tenant", tenant)
        for _ in range(_COMMIT_ATTEMPTS):
            iceberg_table = self._ensure(definition)
            try:
                commit(iceberg_table, batch, delete=where, properties=_watermark_properties(watermarks))
            except CommitFailedException:
                continue  # a replace does not depend on what was there: just try again
            return batch.num_rows
        raise WarehouseCommitError(f"table {table!r}: gave up replacing after {_COMMIT_ATTEMPTS} "
                                   "attempts lost to concurrent commits; retry the export")

    def scan(self, table: str) -> pa.Table:
        """Every row of the table's current snapshot; an empty table if it was never written."""
        iceberg_table = self.load(table)
        if iceberg_table is None:
            return table_def(table).arrow_schema().empty_table()
        return iceberg_table.scan().to_arrow()

    def row_count(self, table: str) -> int:
        iceberg_table = self.load(table)
        if iceberg_table is None:
            return 0
        snapshot = iceberg_table.current_snapshot()
        if snapshot is None:
            return 0
        total = snapshot.summary["total-records"] if snapshot.summary is not None else None
        return int(total) if total is not None else iceberg_table.scan().count()

    def watermarks(self, table: str) -> dict[str, str]:
        """Per tenant, how far exports to ``table`` have got (as the exporter recorded it in the newest
        snapshot that carries watermarks); empty before the first export."""
        iceberg_table = self.load(table)
        snapshot = iceberg_table.current_snapshot() if iceberg_table is not None else None
        while snapshot is not None:
            recorded = (snapshot.summary.additional_properties if snapshot.summary is not None
                        else {}).get(WATERMARK_PROPERTY)
            if recorded is not None:
                return dict(json.loads(recorded))
            parent = snapshot.parent_snapshot_id
            snapshot = iceberg_table.snapshot_by_id(parent) if parent is not None else None
        return {}

    def snapshot_count(self, table: str) -> int:
        iceberg_table = self.load(table)
        return 0 if iceberg_table is None else len(iceberg_table.metadata.snapshots)


def _first_per_key(rows: list[dict[str, Any]], key: tuple[str, ...]) -> list[dict[str, Any]]:
    seen: set[tuple[Any, ...]] = set()
    out = []
    for row in rows:
        k = tuple(row[c] for c in key)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out


def _existing_keys(iceberg_table: Table, key: tuple[str, ...], batch: pa.Table, time_column: str) -> pa.Table:
    # prunes to the rows' days and tenants
    row_filter: BooleanExpression = GreaterThanOrEqual(time_column, pc.min(batch.column(time_column)).as_py())
    if "tenant" in key:
        row_filter = And(row_filter, In("tenant", set(batch.column("tenant").to_pylist())))
    return iceberg_table.scan(row_filter=row_filter, selected_fields=key).to_arrow()


def _anti_join(batch: pa.Table, existing: pa.Table, key: tuple[str, ...]) -> pa.Table:
    existing = existing.select(list(key)).cast(batch.select(list(key)).schema)
    fresh = batch.join(existing, keys=list(key), join_type="left anti")
    return fresh.select(batch.column_names).cast(batch.schema)


def _refuse_duplicate_keys(definition: TableDef, batch: pa.Table) -> None:
    counts = batch.group_by(list(definition.key)).aggregate([([], "count_all")])
    dupes = counts.filter(pc.greater(counts.column("count_all"), 1))
    if dupes.num_rows:
        example = {k: dupes.column(k)[0].as_py() for k in definition.key}
        raise ValueError(f"table {definition.name!r}: {dupes.num_rows} key(s) appear more than once in "
                         f"the rows to replace, e.g. {example}; send one row per key")
