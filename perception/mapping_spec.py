"""The shape of a source mapping: raw column -> canonical column, parse kind, bounds."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column. kind: id | text | slug | email | domain | float | int | date | enum."""

    name: str
    source: str | tuple[str, ...]  # a tuple is joined with spaces (e.g. first + last name)
    kind: str = "text"
    required: bool = False
    lo: float | None = None  # values outside [lo, hi] are absurd
    hi: float | None = None
    allowed: tuple[str, ...] = ()  # enum values (canonical)
    labels: dict[str, str] = field(default_factory=dict)  # lower-cased raw label -> canonical value


@dataclass(frozen=True)
class ObjectMapping:
    columns: tuple[ColumnSpec, ...]
    derived_key: tuple[str, ...] = ()  # key built from parsed columns joined with "|"


SourceMapping = dict[str, ObjectMapping]
