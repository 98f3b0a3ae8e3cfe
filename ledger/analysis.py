"""Outcome analysis: saved queries over the Iceberg tables, run by DuckDB locally and Athena in AWS.

The queries are written once, in the SQL both engines accept (Athena's Trino dialect where they
differ; DuckDB gets the Trino functions it lacks as macros, see ``DUCKDB_MACROS``). Named parameters
are written ``$name``.

Each table a query names is registered in DuckDB as a view of its pyiceberg scan (DuckDB's own
iceberg extension is downloaded at run time, which an offline install cannot do). A table never
written to is an empty view with the table's columns, so a fresh install answers with zero rows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from typing import Any

import duckdb
import pyarrow as pa

from ledger.iceberg import IcebergWarehouse
from ledger.tables import TABLES

PARAMETER = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

# Trino functions the saved queries use that DuckDB spells differently.
DUCKDB_MACROS = (
    "CREATE MACRO approx_percentile(x, p) AS quantile_cont(x, p)",
)


@dataclass(frozen=True)
class SavedQuery:
    name: str
    description: str  # the query file's leading `-- ` comment lines
    sql: str

    @property
    def params(self) -> tuple[str, ...]:
        """Named parameters (``$name``) the SQL takes; each is optional and NULL when not given."""
        return tuple(dict.fromkeys(PARAMETER.findall(_without_comments(self.sql))))

    @property
    def tables(self) -> tuple[str, ...]:
        code = _without_comments(self.sql)
        return tuple(t for t in TABLES if re.search(rf"\b{t}\b", code))


def _without_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _parse(name: str, text: str) -> SavedQuery:
    comments = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        comments.append(line[2:].strip())
    if not comments:
        raise ValueError(f"saved query {name!r} has no leading '-- ' comment describing it")
    return SavedQuery(name=name, description=" ".join(comments), sql=text)


def list_queries() -> list[SavedQuery]:
    folder = resources.files("ledger.queries")
    return sorted((_parse(entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8"))
                   for entry in folder.iterdir() if entry.name.endswith(".sql")),
                  key=lambda q: q.name)


def get_query(name: str) -> SavedQuery:
    queries = {q.name: q for q in list_queries()}
    if name not in queries:
        raise ValueError(f"no saved query named {name!r}; the saved queries are: {', '.join(queries)}")
    return queries[name]


def run_query(warehouse: IcebergWarehouse, name: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run a saved query over the warehouse's current snapshots; parameters not given are NULL."""
    query = get_query(name)
    given = dict(params or {})
    unknown = sorted(set(given) - set(query.params))
    if unknown:
        raise ValueError(f"saved query {name!r} takes parameters {list(query.params)}, not {unknown}")
    con = duckdb.connect(database=":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        for macro in DUCKDB_MACROS:
            con.execute(macro)
        for table in query.tables:
            con.register(table, warehouse.scan(table))
        return con.sql(query.sql, params={p: given.get(p) for p in query.params}).to_arrow_table()
    finally:
        con.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_table(t: pa.Table) -> str:
    """A plain-text table for the CLI: numbers right-aligned, NULL as blank, a row count at the end."""
    header = t.column_names
    rows = [[_cell(v) for v in row.values()] for row in t.to_pylist()]
    numeric = [pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)
               for f in t.schema]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if num else c.ljust(w)
                         for c, w, num in zip(cells, widths, numeric, strict=True)).rstrip()

    out = [line(header), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
    return "\n".join(out)


def markdown_table(t: pa.Table) -> str:
    """A Markdown table (for Dagster's asset metadata), cells as ``format_table`` writes them."""
    header = t.column_names
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v).replace("|", "\\|") for v in row.values()) + " |"
              for row in t.to_pylist()]
    return "\n".join(lines)
