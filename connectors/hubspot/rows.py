"""HubSpot records -> flat text rows: vendor fields as sent, plus a few ``revloop.*`` columns derived
from them (association picked, owner id looked up, stage label, buying role reduced to one).

Vendor columns keep their HubSpot names (``id``, ``updatedAt``, property internal names); every
column a connector derives is prefixed ``revloop.`` so a reader can tell them apart."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import polars as pl

Row = dict[str, str | None]

# hs_buying_role is a multi-select; revloop keeps one role per contact, the most decisive one.
_ROLE_PRIORITY = ("CHAMPION", "BUDGET_HOLDER", "DECISION_MAKER", "EXECUTIVE_SPONSOR", "END_USER")
_TAG = re.compile(r"<[^>]+>")


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def base_row(record: Mapping[str, Any]) -> Row:
    """``id``, ``createdAt``, ``updatedAt``, ``archived`` and every property, as text."""
    row: Row = {key: _text(record.get(key)) for key in ("id", "createdAt", "updatedAt", "archived")}
    properties = record.get("properties")
    if isinstance(properties, Mapping):
        for name, value in properties.items():
            row[name] = _text(value)
    return row


def pick_association(targets: list[Mapping[str, Any]]) -> str | None:
    """The target labelled Primary if any, else the first HubSpot returned."""
    for target in targets:
        for kind in target.get("associationTypes") or []:
            if str(kind.get("label") or "").lower() == "primary":
                return _text(target.get("toObjectId"))
    return _text(targets[0].get("toObjectId")) if targets else None


def primary_buying_role(value: str | None) -> str | None:
    if not value:
        return None
    chosen = {part.strip().upper() for part in value.split(";")}
    return next((role for role in _ROLE_PRIORITY if role in chosen), None)


def plain_subject(body: str | None, limit: int = 200) -> str | None:
    """A note body is HTML; the subject is its first words as plain text."""
    if not body:
        return None
    text = " ".join(html.unescape(_TAG.sub(" ", body)).split())
    return text[:limit] or None


def text_frame(rows: list[Row]) -> pl.DataFrame:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    schema = {name: pl.String for name in columns}
    return pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
