"""What changed between two snapshots of a table, found by row hash first and compared field by field
only for rows whose hash differs (so a million unchanged rows cost one hash and one join)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from perception.contracts import ChangeType, FieldChange
from perception.normalize import NormalizedSnapshot
from perception.schemas import KEYS

CRM_TABLES: tuple[str, ...] = ("accounts", "contacts", "opportunities")
CHANGES_SCHEMA = pl.Schema({
    "entity_id": pl.String, "account_id": pl.String, "change": pl.String, "field": pl.String,
    "before": pl.String, "after": pl.String,
})


def _align(before: pl.DataFrame | None, after: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    if before is None:
        return pl.DataFrame(schema=after.schema), after
    for name, dtype in after.schema.items():
        if name not in before.columns:
            before = before.with_columns(pl.lit(None, dtype=dtype).alias(name))
    for name, dtype in before.schema.items():
        if name not in after.columns:
            after = after.with_columns(pl.lit(None, dtype=dtype).alias(name))
    return before.select(after.columns), after


BEFORE_SUFFIX = "__before"


@dataclass(frozen=True)
class TableDiff:
    """Two snapshots of one table, compared: whole inserted/deleted rows and changed rows side by side.

    `changed` holds one row per changed record: the after-row's columns plus `<column>__before` for
    every compared column, so a rule reads `amount` next to `amount__before` without a second join."""

    key: str
    fields: tuple[str, ...]
    inserted: pl.DataFrame
    deleted: pl.DataFrame
    changed: pl.DataFrame

    def counts(self) -> dict[str, int]:
        return {"inserted": self.inserted.height, "deleted": self.deleted.height,
                "changed": self.changed.height}


def diff_wide(before: pl.DataFrame | None, after: pl.DataFrame, key: str,
              ignore: Sequence[str] = ("tenant",)) -> TableDiff:
    """Hash every row, join on the key, and read the full rows back only for records whose hash differs.

    Keys must be unique in each frame. The hash is a fast filter; `changed` is confirmed field by field,
    so a hash collision can never invent a change."""
    before_frame, after_frame = _align(before, after)
    fields = tuple(c for c in after_frame.columns if c != key and c not in ignore)
    row_hash = pl.struct(list(fields)).hash() if fields else pl.lit(0, dtype=pl.UInt64)
    # Row positions ride along the join, so the few rows that differ are gathered, not re-joined.
    position = pl.int_range(pl.len())
    status = before_frame.lazy().select(pl.col(key), row_hash.alias("__hb"), position.alias("__ib")) \
        .join(after_frame.lazy().select(pl.col(key), row_hash.alias("__ha"),
                                        position.alias("__ia")),
              on=key, how="full", coalesce=True) \
        .filter(pl.col("__hb").ne_missing(pl.col("__ha"))).collect()
    inserted = after_frame[status.filter(pl.col("__hb").is_null())["__ia"].sort()]
    deleted = before_frame[status.filter(pl.col("__ha").is_null())["__ib"].sort()]
    both = status.filter(pl.col("__hb").is_not_null() & pl.col("__ha").is_not_null()).sort("__ia")
    changed = pl.concat([
        after_frame[both["__ia"]],
        before_frame.select([pl.col(f).alias(f + BEFORE_SUFFIX) for f in fields])[both["__ib"]],
    ], how="horizontal")
    differs = [pl.col(f).ne_missing(pl.col(f + BEFORE_SUFFIX)) for f in fields]
    changed = changed.filter(pl.any_horizontal(differs) if differs else pl.lit(False))
    return TableDiff(key, fields, inserted, deleted, changed)


def diff_frames(before: pl.DataFrame | None, after: pl.DataFrame, key: str,
                ignore: Sequence[str] = ("tenant",)) -> pl.DataFrame:
    """Changes as a frame (CHANGES_SCHEMA): one row per inserted/deleted record and per changed field.

    `before`/`after` values are text (the column cast to String); keys must be unique in each frame."""
    return long_changes(diff_wide(before, after, key, ignore))


def long_changes(diff: TableDiff) -> pl.DataFrame:
    key = diff.key

    def account(frame: pl.DataFrame) -> pl.Expr:
        return (pl.col("account_id") if "account_id" in frame.columns
                else pl.lit(None, dtype=pl.String)).cast(pl.String)

    def whole(frame: pl.DataFrame, change: ChangeType) -> pl.DataFrame:
        none = pl.lit(None, dtype=pl.String)
        return frame.select(pl.col(key).cast(pl.String).alias("entity_id"),
                            account(frame).alias("account_id"), pl.lit(change.value).alias("change"),
                            none.alias("field"), none.alias("before"),
                            none.alias("after"))

    parts = [whole(diff.inserted, ChangeType.inserted), whole(diff.deleted, ChangeType.deleted)]
    changed = diff.changed
    for f in diff.fields:
        parts.append(changed.filter(pl.col(f).ne_missing(pl.col(f + BEFORE_SUFFIX))).select(
            pl.col(key).cast(pl.String).alias("entity_id"), account(changed).alias("account_id"),
            pl.lit(ChangeType.changed.value).alias("change"), pl.lit(f).alias("field"),
            pl.col(f + BEFORE_SUFFIX).cast(pl.String).alias("before"),
            pl.col(f).cast(pl.String).alias("after")))
    return pl.concat(parts).sort("entity_id", "field", nulls_last=False)


def _typed(text: str | None, dtype: pl.DataType | None) -> Any:
    if text is None or dtype is None:
        return text
    if dtype.is_integer():
        return int(text)
    if dtype.is_float():
        return float(text)
    if dtype == pl.Boolean:
        return text == "true"
    return text  # strings, and dates as ISO text (JSON-safe evidence)


def _records(frame: pl.DataFrame | None, key: str, ids: pl.Series) -> dict[str, dict[str, Any]]:
    if frame is None or ids.len() == 0:
        return {}
    rows = frame.filter(pl.col(key).cast(pl.String).is_in(ids.implode())).to_dicts()
    return {str(r[key]): {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items()}
            for r in rows}


def diff_tables(tenant: str, object: str, before: pl.DataFrame | None, after: pl.DataFrame,
                key: str) -> list[FieldChange]:
    frame = diff_frames(before, after, key)
    schema = {**(dict(before.schema) if before is not None else {}), **dict(after.schema)}
    inserted = _records(after, key, frame.filter(pl.col("change") == ChangeType.inserted.value)["entity_id"])
    deleted = _records(before, key, frame.filter(pl.col("change") == ChangeType.deleted.value)["entity_id"])
    out = []
    for row in frame.iter_rows(named=True):
        change = ChangeType(row["change"])
        before_value: Any = None
        after_value: Any = None
        if change is ChangeType.changed:
            dtype = schema.get(row["field"])
            before_value, after_value = _typed(row["before"], dtype), _typed(row["after"], dtype)
        elif change is ChangeType.inserted:
            after_value = inserted.get(row["entity_id"])
        else:
            before_value = deleted.get(row["entity_id"])
        out.append(FieldChange(tenant=tenant, object=object, entity_id=row["entity_id"],
                               account_id=row["account_id"], change=change, field=row["field"],
                               before=before_value, after=after_value))
    return out


def diff_snapshots(previous: NormalizedSnapshot | None, current: NormalizedSnapshot,
                   objects: Sequence[str] = CRM_TABLES) -> list[FieldChange]:
    """Field changes of the CRM tables (usage is read as a time series by the signal rules instead)."""
    if previous is not None and previous.tenant != current.tenant:
        raise ValueError(f"cannot diff tenant {previous.tenant!r} against tenant {current.tenant!r}")
    changes: list[FieldChange] = []
    for object_ in objects:
        before = previous.table(object_) if previous is not None else None
        changes.extend(diff_tables(current.tenant, object_, before, current.table(object_), KEYS[object_]))
    return changes
