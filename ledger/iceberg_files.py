"""Writing an Iceberg commit: Parquet data files per partition (tenant x day) through the table's FileIO
(``file://`` and ``s3://`` alike), then one transaction that may also drop whole partitions first.

Files are committed with ``add_files``: pyiceberg's own ``append`` needs the optional ``pyiceberg-core``
package to compute ``day()`` partitions, which this install lacks."""

from __future__ import annotations

import uuid
import warnings
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.exceptions import CommitFailedException, ValidationException
from pyiceberg.expressions import BooleanExpression
from pyiceberg.table import Table
from pyiceberg.transforms import DayTransform, IdentityTransform


def commit(iceberg_table: Table, batch: pa.Table, delete: BooleanExpression | None,
           properties: dict[str, str] | None = None) -> None:
    """One commit: drop the files ``delete`` matches (whole partitions only), add ``batch``'s files;
    ``properties`` go into the summary of the commit's last snapshot."""
    paths = _write_data_files(iceberg_table, _with_table_columns(iceberg_table, batch))
    tx = iceberg_table.transaction()
    try:
        if delete is not None and iceberg_table.current_snapshot() is not None:
            with warnings.catch_warnings():  # replacing a tenant that had no rows yet is normal
                warnings.filterwarnings("ignore", message="Delete operation did not match any records")
                tx.delete(delete, snapshot_properties={} if paths else properties or {})
        if paths:
            # fresh uuid names: cannot collide
            tx.add_files(paths, snapshot_properties=properties or {}, check_duplicate_files=False)
    except BaseException:
        _delete_files(iceberg_table, paths)
        raise
    try:
        tx.commit_transaction()
    except (CommitFailedException, ValidationException):
        # Only these guarantee the commit did not land; after any other error the files may be live.
        _delete_files(iceberg_table, paths)
        raise


def _with_table_columns(iceberg_table: Table, batch: pa.Table) -> pa.Table:
    """Columns a newer writer added to the table (optional ones) are null in rows of an older one."""
    for field in iceberg_table.schema().as_arrow():
        if field.name not in batch.column_names:
            batch = batch.append_column(field.name, pa.nulls(batch.num_rows, field.type))
    return batch


def _delete_files(iceberg_table: Table, paths: list[str]) -> None:
    for path in paths:
        try:
            iceberg_table.io.delete(path)
        except FileNotFoundError:
            pass  # never written: the failure came before it


def _write_data_files(iceberg_table: Table, batch: pa.Table) -> list[str]:
    if batch.num_rows == 0:
        return []
    spec = iceberg_table.spec()
    unsupported = [f.name for f in spec.fields
                   if not isinstance(f.transform, IdentityTransform | DayTransform)]
    if unsupported:
        raise ValueError(f"table {iceberg_table.name()}: only identity and day partitions are written "
                         f"here, not {unsupported}")
    schema = iceberg_table.schema()
    arrow_schema = schema.as_arrow()
    columns = [schema.find_field(f.source_id).name for f in spec.fields]
    # Iceberg's day() is the UTC date; a timestamptz column cast to date32 is exactly that.
    values = [batch.column(c) if isinstance(f.transform, IdentityTransform)
              else pc.cast(batch.column(c), pa.date32()) for c, f in zip(columns, spec.fields, strict=True)]
    order = pc.sort_indices(pa.table(dict(zip(columns, values, strict=True))),
                            sort_keys=[(c, "ascending") for c in columns])
    batch = batch.take(order)
    keys = list(zip(*(v.take(order).to_pylist() for v in values), strict=True))
    paths: list[str] = []
    start = 0
    try:
        for end in range(1, len(keys) + 1):
            if end < len(keys) and keys[end] == keys[start]:
                continue
            partition = "/".join(f"{f.name}={quote(str(v), safe='')}"
                                 for f, v in zip(spec.fields, keys[start], strict=True))
            path = f"{iceberg_table.location()}/data/{partition}/{uuid.uuid4()}.parquet"
            paths.append(path)
            with iceberg_table.io.new_output(path).create() as stream:
                pq.write_table(batch.slice(start, end - start).cast(arrow_schema), stream)
            start = end
    except BaseException:
        _delete_files(iceberg_table, paths)
        raise
    return paths
