"""What changed between two snapshots of a table, found by row hash first and compared field by field
only for rows whose hash differs (so a million unchanged rows cost one hash and one join)."""

from __future__ import annotations

from collections.abc import Sequence
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


def diff_frames(before: pl.DataFrame | None, after: pl.DataFrame, key: str,
                ignore: Sequence[str] = ("tenant",)) -> pl.DataFrame:
    """Changes as a frame (CHANGES_SCHEMA): one row per inserted/deleted record and per changed field.

    `before`/`after` values are text (the column cast to String); keys must be unique in each frame."""
    before_frame, after_frame = _align(before, after)
    fields = [c for c in after_frame.columns if c != key and c not in ignore]
    has_account = "account_id" in after_frame.columns
    account = pl.col("account_id") if has_account else pl.lit(None, dtype=pl.String)

    def hashed(frame: pl.DataFrame, tag: str) -> pl.DataFrame:
        row_hash = pl.struct(fields).hash() if fields else pl.lit(0, dtype=pl.UInt64)
        return frame.select(pl.col(key).cast(pl.String).alias("__key"), row_hash.alias(f"__h{tag}"),
                            account.cast(pl.String).alias(f"__a{tag}"))

    joined = hashed(before_frame, "b").join(hashed(after_frame, "a"), on="__key", how="full", coalesce=True)
    status = (pl.when(pl.col("__hb").is_null()).then(pl.lit(ChangeType.inserted.value))
              .when(pl.col("__ha").is_null()).then(pl.lit(ChangeType.deleted.value))
              .when(pl.col("__hb") != pl.col("__ha")).then(pl.lit(ChangeType.changed.value)))
    joined = joined.with_columns(status.alias("change"), pl.coalesce("__aa", "__ab").alias("__account")) \
        .filter(pl.col("change").is_not_null())
    whole = joined.filter(pl.col("change") != ChangeType.changed.value).select(
        pl.col("__key").alias("entity_id"), pl.col("__account").alias("account_id"), "change",
        pl.lit(None, dtype=pl.String).alias("field"), pl.lit(None, dtype=pl.String).alias("before"),
        pl.lit(None, dtype=pl.String).alias("after"))
    changed = joined.filter(pl.col("change") == ChangeType.changed.value).select("__key", "__account")
    if changed.height == 0 or not fields:
        return whole.sort("entity_id")

    def long(frame: pl.DataFrame, name: str) -> pl.DataFrame:
        keyed = frame.with_columns(pl.col(key).cast(pl.String).alias("__key"))
        return keyed.join(changed.select("__key"), on="__key", how="semi").select(
            "__key", *[pl.col(c).cast(pl.String) for c in fields],
        ).unpivot(index="__key", variable_name="field", value_name=name)

    per_field = long(before_frame, "before").join(long(after_frame, "after"), on=["__key", "field"]) \
        .filter(pl.col("before").ne_missing(pl.col("after"))) \
        .join(changed, on="__key").select(
            pl.col("__key").alias("entity_id"), pl.col("__account").alias("account_id"),
            pl.lit(ChangeType.changed.value).alias("change"), "field", "before", "after")
    return pl.concat([whole, per_field]).sort("entity_id", "field", nulls_last=False)


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
