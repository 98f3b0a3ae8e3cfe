"""Saved-query results as PNG bar charts (matplotlib's Agg canvas: no display, no global backend).

The text columns of a result label the bars (joined, e.g. ``acme / usage_drop``); each numeric column is
one series. Rates (columns named ``*_rate`` or ``conversion``) are drawn on their own axis, 0..1, so
they are not flattened by counts."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
from matplotlib.figure import Figure


def _is_rate(name: str) -> bool:
    return name.endswith("_rate") or name == "conversion"


def plot_result(table: pa.Table, title: str, path: Path) -> Path:
    """Write the chart to ``path`` (PNG) and return it. A result without rows or numbers still gets a
    chart that says so."""
    numeric = [f.name for f in table.schema
               if pa.types.is_integer(f.type) or pa.types.is_floating(f.type) or pa.types.is_decimal(f.type)]
    text = [f.name for f in table.schema if f.name not in numeric]
    rows = table.to_pylist()
    labels = [" / ".join(str(r[c]) for c in text) or str(i + 1) for i, r in enumerate(rows)]
    counts = [c for c in numeric if not _is_rate(c)]
    rates = [c for c in numeric if _is_rate(c)]
    panels = [group for group in (counts, rates) if group]
    figure = Figure(figsize=(max(6.0, 0.6 * len(rows) + 3), 3.5 * max(1, len(panels))))
    figure.suptitle(title)
    figure.subplots_adjust(hspace=0.6)  # room for the rotated labels of the panel above
    if not rows or not panels:
        figure.text(0.5, 0.5, "no rows" if not rows else "no numeric columns to plot", ha="center")
    for index, columns in enumerate(panels, start=1):
        axes = figure.add_subplot(len(panels), 1, index)
        width = 0.8 / len(columns)
        for k, column in enumerate(columns):
            values = [r[column] if r[column] is not None else 0 for r in rows]
            axes.bar([i + k * width for i in range(len(rows))], values, width, label=column)
        axes.set_xticks([i + 0.4 - width / 2 for i in range(len(rows))], labels, rotation=30, ha="right",
                        fontsize=8)
        if columns is rates:
            axes.set_ylim(0, 1)
        axes.legend(fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100, bbox_inches="tight")
    return path
