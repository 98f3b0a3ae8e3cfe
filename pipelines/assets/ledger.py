"""Ledger assets: chain heads (verified), Iceberg tables for analysis, and the outcome report."""


import dagster as dg

from pipelines.assets.actions import action_executions, review_queue
from pipelines.resources import OperationalDbResource, WarehouseResource


@dg.asset(group_name="ledger", deps=[review_queue, action_executions], kinds={"sqlite"})
def ledger_heads(context: dg.AssetExecutionContext, db: OperationalDbResource) -> dg.MaterializeResult:
    """The head of every tenant's hash chain (sequence and entry hash) after this run."""
    heads = {tenant: {"seq": seq, "entry_hash": entry_hash}
             for tenant, (seq, entry_hash) in db.ledger().heads().items()}
    return dg.MaterializeResult(metadata={
        "tenants": len(heads),
        "entries": sum(h.get("seq", 0) for h in heads.values()),
        "heads": dg.MetadataValue.json(heads),
    })


@dg.asset_check(asset=ledger_heads, blocking=True,
                description="Recomputes every entry's digest and hash link for every tenant.")
def ledger_chain_verifies(db: OperationalDbResource) -> dg.AssetCheckResult:
    from ledger.verify import LedgerVerificationError

    try:
        report = db.ledger().verify()
    except LedgerVerificationError as exc:
        return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.ERROR,
                                   description=str(exc),
                                   metadata={"tenant": exc.tenant, "first_bad_seq": exc.seq})
    return dg.AssetCheckResult(passed=True, metadata={
        "entries_verified": report.total,
        "by_tenant": dg.MetadataValue.json(report.entries_by_tenant)})


@dg.asset(group_name="ledger", deps=[ledger_heads], kinds={"iceberg"})
def iceberg_tables(context: dg.AssetExecutionContext, db: OperationalDbResource,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Signals, proposals, decisions, actions and ledger entries exported to Iceberg tables
    (partitioned by tenant and day) for outcome analysis: DuckDB locally, Athena in AWS."""
    from pipelines.export import export_to_warehouse

    written = export_to_warehouse(warehouse.warehouse(), db.signals(), db.proposals(), db.ledger())
    return dg.MaterializeResult(metadata={
        "rows_written": dg.MetadataValue.json(written),
        "total_rows_written": sum(written.values()),
    })


@dg.asset(group_name="ledger", deps=[iceberg_tables], kinds={"duckdb"})
def outcome_report(context: dg.AssetExecutionContext,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The saved `loop_counts` query run by DuckDB over the Iceberg tables: per tenant signals,
    proposals by status, executed actions and ledger entries."""
    from ledger.analysis import run_query

    table = run_query(warehouse.warehouse(), "loop_counts")
    rows = table.to_pylist()
    header = list(table.column_names)
    md = "| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n" + "\n".join(
        "| " + " | ".join(str(row[c]) for c in header) + " |" for row in rows)
    return dg.MaterializeResult(metadata={"loop_counts": dg.MetadataValue.md(md),
                                          "tenants": len(rows)})
