"""``revloop analyze QUERY``: run a saved outcome query (ledger/queries/*.sql) on DuckDB over the local
Iceberg tables, or on Athena; print it as a table, CSV or JSON, optionally plot it to a PNG.

Register with ``app.add_typer(analyze_app, name="analyze")`` in revloop/cli.py (``from
revloop.commands.analyze import app as analyze_app``). ``revloop analyze --list`` names the queries."""

from __future__ import annotations

import csv
import io
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import typer

# A group with no subcommands, so ``revloop analyze QUERY --tenant T`` parses like one command: options
# may follow the query name.
app = typer.Typer(help="Outcome analysis: saved queries over the Iceberg tables (DuckDB locally, Athena).",
                  invoke_without_command=True, no_args_is_help=False,
                  context_settings={"allow_interspersed_args": True})


class Engine(StrEnum):
    duckdb = "duckdb"
    athena = "athena"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def render(table: pa.Table, fmt: Format) -> str:
    from ledger.analysis import format_table

    if fmt is Format.table:
        return format_table(table)
    rows = table.to_pylist()
    if fmt is Format.json:
        return json.dumps(rows, indent=2, default=str)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=table.column_names, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in rows)
    return out.getvalue().rstrip("\n")


def _run_athena(name: str, params: dict[str, Any], database: str, workgroup: str | None,
                output: str | None, region: str | None, timeout: float) -> pa.Table:
    import boto3

    from ledger.athena import AthenaRunner

    client = boto3.client("athena", region_name=region) if region else boto3.client("athena")
    return AthenaRunner(client, database, workgroup=workgroup, output_location=output,
                        timeout_seconds=timeout).run_saved(name, params)


def _run_duckdb(name: str, params: dict[str, Any]) -> pa.Table:
    from ledger.analysis import run_query
    from revloop.settings import load_settings
    from revloop.wiring import open_warehouse

    settings = load_settings()
    settings.paths.ensure()
    return run_query(open_warehouse(settings), name, params)


@app.callback()
def analyze(
    query: Annotated[str | None, typer.Argument(help="Saved query name (see --list).")] = None,
    list_queries: Annotated[bool, typer.Option("--list", help="List the saved queries and exit.")] = False,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant.")] = None,
    engine: Annotated[Engine, typer.Option(help="Where to run it.")] = Engine.duckdb,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    plot: Annotated[Path | None, typer.Option(help="Also write a bar chart of the result to this PNG.",
                                              dir_okay=False)] = None,
    athena_database: Annotated[str, typer.Option(
        envvar="REVLOOP_ATHENA_DATABASE", help="Athena: the Glue database of the tables.")] = "revloop",
    athena_workgroup: Annotated[str | None, typer.Option(envvar="REVLOOP_ATHENA_WORKGROUP")] = None,
    athena_output: Annotated[str | None, typer.Option(
        envvar="REVLOOP_ATHENA_OUTPUT",
        help="Athena: s3:// location for results (unless the workgroup sets one).")] = None,
    athena_region: Annotated[str | None, typer.Option(envvar="REVLOOP_ATHENA_REGION")] = None,
    athena_timeout: Annotated[float, typer.Option(
        help="Athena: seconds before the query is stopped.")] = 300.0,
) -> None:
    """Run a saved outcome query and print its result."""
    from ledger.analysis import get_query
    from ledger.analysis import list_queries as saved_queries

    if list_queries:
        for q in saved_queries():
            typer.echo(f"{q.name}\n    {q.description}")
        return
    if query is None:
        raise typer.BadParameter("name a saved query, or pass --list to see them", param_hint="QUERY")
    try:
        get_query(query)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="QUERY") from None
    params = {"tenant": tenant} if tenant is not None else {}
    if engine is Engine.athena:
        from ledger.athena import AthenaQueryError

        try:
            table = _run_athena(query, params, athena_database, athena_workgroup, athena_output,
                                athena_region, athena_timeout)
        except AthenaQueryError as exc:
            typer.echo(f"ATHENA QUERY FAILED: {exc}", err=True)
            raise typer.Exit(1) from exc
    else:
        table = _run_duckdb(query, params)
    typer.echo(render(table, fmt))
    if plot is not None:
        from ledger.plots import plot_result

        typer.echo(f"plot written to {plot_result(table, query, plot)}", err=True)
