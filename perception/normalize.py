"""Raw snapshot -> canonical tables, in vectorised polars.

A record that cannot be trusted (missing id, a value of the wrong type, an absurd value, an unknown
enum label, a key seen earlier in the same snapshot) goes to the quarantine table with the reason and
the raw record as JSON; the rest of the batch proceeds. Nothing is dropped silently: every raw row
ends up either in its canonical table or in quarantine."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from connectors.records import RawSnapshot
from perception.mappings import MAPPINGS, ColumnSpec, ObjectMapping, SourceMapping
from perception.schemas import KEYS, QUARANTINE, SCHEMAS, empty


class UnknownSource(ValueError):
    """No normalization mapping exists for a snapshot's source."""


@dataclass(frozen=True)
class NormalizedSnapshot:
    tenant: str
    source: str
    pulled_at: datetime
    tables: dict[str, pl.DataFrame]
    quarantine: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=QUARANTINE))

    def table(self, object_: str) -> pl.DataFrame:
        return self.tables.get(object_, empty(object_))

    def row_counts(self) -> dict[str, int]:
        return {name: frame.height for name, frame in self.tables.items()}


def normalize(snapshot: RawSnapshot, mapping: SourceMapping | None = None) -> NormalizedSnapshot:
    """Normalize every object the mapping knows; objects the mapping does not name are not perception's."""
    if mapping is None:
        if snapshot.source not in MAPPINGS:
            raise UnknownSource(f"no normalization mapping for source {snapshot.source!r}; known: "
                                f"{sorted(MAPPINGS)}. Pass mapping= or register one in perception.mappings")
        mapping = MAPPINGS[snapshot.source]
    tables: dict[str, pl.DataFrame] = {}
    quarantined = [pl.DataFrame(schema=QUARANTINE)]
    for object_, spec in mapping.items():
        raw = snapshot.objects.get(object_)
        if raw is None or raw.height == 0:
            tables[object_] = empty(object_)
            continue
        good, bad = normalize_object(snapshot.tenant, object_, raw, spec)
        tables[object_] = good
        quarantined.append(bad)
    quarantine = pl.concat(quarantined, how="vertical")
    return NormalizedSnapshot(snapshot.tenant, snapshot.source, snapshot.pulled_at, tables, quarantine)


def _as_text(raw: pl.DataFrame) -> pl.DataFrame:
    exprs = []
    for name, dtype in raw.schema.items():
        if dtype == pl.String:
            exprs.append(pl.col(name))
        elif dtype.is_nested():
            exprs.append(pl.struct(pl.col(name).alias("v")).struct.json_encode()
                         .str.strip_prefix('{"v":').str.strip_suffix("}").alias(name))
        else:
            exprs.append(pl.col(name).cast(pl.String, strict=False))
    return raw.select(exprs)


def _source(spec: ColumnSpec, columns: set[str]) -> pl.Expr:
    names = (spec.source,) if isinstance(spec.source, str) else spec.source
    present = [pl.col(n).str.strip_chars() for n in names if n in columns]
    if not present:
        return pl.lit(None, dtype=pl.String)
    joined = present[0] if len(present) == 1 else pl.concat_str(present, separator=" ", ignore_nulls=True)
    return pl.when(joined.str.len_chars() > 0).then(joined).otherwise(None)


def _parse(spec: ColumnSpec, src: pl.Expr) -> pl.Expr:
    kind = spec.kind
    if kind in ("id", "text"):
        return src
    if kind == "email":
        lowered = src.str.to_lowercase()
        return pl.when(lowered.str.contains(r"^[^@\s]+@[^@\s]+$")).then(lowered).otherwise(None)
    if kind == "domain":
        return src.str.to_lowercase().str.replace(r"^[a-z]+://", "").str.replace(r"^www\.", "") \
            .str.replace(r"/.*$", "")
    if kind == "slug":
        return src.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
    if kind == "float":
        number = src.cast(pl.Float64, strict=False)
        return pl.when(number.is_finite()).then(number).otherwise(None)
    if kind == "int":
        number = src.cast(pl.Float64, strict=False)
        whole = number.is_finite() & (number == number.round(0)) & (number.abs() < 9e15)
        return pl.when(whole).then(number).otherwise(None).cast(pl.Int64)
    if kind == "date":
        return src.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    if kind == "enum":
        slug = src.str.to_lowercase()
        if spec.labels:
            slug = slug.replace(spec.labels)
        slug = slug.str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")
        return pl.when(slug.is_in(list(spec.allowed))).then(slug).otherwise(None)
    raise ValueError(f"unknown column kind {kind!r} for {spec.name}")


_KIND_WORDS = {"float": "a number", "int": "a whole number", "date": "a YYYY-MM-DD date",
               "email": "an email address", "enum": "a known value"}


def _reason(spec: ColumnSpec, src: pl.Expr, parsed: pl.Expr) -> pl.Expr:
    missing = "missing_id" if spec.kind == "id" and spec.required else f"missing_field: {spec.name}"
    checks = []
    if spec.required:
        checks.append(pl.when(src.is_null()).then(pl.lit(missing)))
    if spec.kind in _KIND_WORDS:
        word = "invalid_value" if spec.kind == "enum" else "invalid_type"
        detail = f"one of {list(spec.allowed)}" if spec.kind == "enum" else _KIND_WORDS[spec.kind]
        checks.append(pl.when(src.is_not_null() & parsed.is_null())
                      .then(pl.lit(f"{word}: {spec.name} is not {detail}")))
    if spec.lo is not None or spec.hi is not None:
        lo = spec.lo if spec.lo is not None else float("-inf")
        hi = spec.hi if spec.hi is not None else float("inf")
        checks.append(pl.when((parsed < lo) | (parsed > hi))
                      .then(pl.lit(f"absurd_value: {spec.name} outside [{lo:g}, {hi:g}]")))
    return pl.coalesce(checks) if checks else pl.lit(None, dtype=pl.String)


def normalize_object(tenant: str, object_: str, raw: pl.DataFrame, mapping: ObjectMapping
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One raw object -> (canonical rows, quarantine rows)."""
    key = KEYS[object_]
    text = _as_text(raw)
    if text.width == 0:  # rows without a single field: each is quarantined as missing its id
        text = pl.DataFrame({"__no_fields": [None] * raw.height}, schema={"__no_fields": pl.String})
    columns = set(text.columns)
    parsed, reasons = [], []
    for spec in mapping.columns:
        src = _source(spec, columns)
        value = _parse(spec, src)
        parsed.append(value.alias(spec.name))
        reasons.append(_reason(spec, src, value))
    frame = text.select(
        pl.struct(pl.all()).struct.json_encode().alias("__record"),
        *parsed,
        pl.coalesce(reasons).alias("__reason"),
    )
    if mapping.derived_key:
        frame = frame.with_columns(
            pl.concat_str([pl.col(c).cast(pl.String) for c in mapping.derived_key], separator="|").alias(key))
    frame = frame.with_columns(
        pl.when(pl.col("__reason").is_null()
                & ~pl.col(key).is_first_distinct().over(pl.col("__reason").is_null()))
        .then(pl.lit(f"duplicate_key: {key} seen earlier in this snapshot"))
        .otherwise(pl.col("__reason")).alias("__reason"))
    schema = SCHEMAS[object_]
    good = frame.filter(pl.col("__reason").is_null()).with_columns(pl.lit(tenant).alias("tenant")) \
        .select([pl.col(name).cast(dtype) for name, dtype in schema.items()])
    bad = frame.filter(pl.col("__reason").is_not_null()).select(
        pl.lit(tenant, dtype=pl.String).alias("tenant"), pl.lit(object_, dtype=pl.String).alias("object"),
        pl.col(key).cast(pl.String).alias("entity_id"), pl.col("__reason").alias("reason"),
        pl.col("__record").alias("record"))
    return good, bad
