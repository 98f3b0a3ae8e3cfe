"""Ledger assets: chain heads (verified), observed outcomes, Iceberg tables for analysis, and the
outcome report."""

import base64
from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg

from pipelines.assets.actions import action_executions, review_queue
from pipelines.resources import DemoWorldResource, LakeResource, OperationalDbResource, WarehouseResource


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


@dg.asset(group_name="ledger", deps=[action_executions, "normalized_snapshots"], kinds={"sqlite"})
def observed_outcomes(context: dg.AssetExecutionContext, db: OperationalDbResource, lake: LakeResource,
                      demo_world: DemoWorldResource) -> dg.MaterializeResult:
    """What happened on accounts after the loop acted or not: deals won or lost, close dates held or
    slipped, renewals, churn, read from each new CRM snapshot (and the demo world's truth), linked to
    the proposals and executed actions on the account before it, recorded once with a ledger entry."""
    from actions.outcomes import OutcomeStore, observe_outcomes

    store, operational = OutcomeStore(db.url), db.proposals()
    proposals, actions = operational.proposal_rows(), operational.action_rows()
    truth = demo_world.world().ground_truth()
    recorded = {tenant: observe_outcomes(lake.normalized(), tenant, store, db.ledger(), proposals, actions,
                                         truth)
                for tenant in demo_world.tenants}
    kinds = Counter(o.kind.value for found in recorded.values() for o in found)
    return dg.MaterializeResult(metadata={
        "outcomes_recorded": sum(kinds.values()),
        "by_kind": dg.MetadataValue.json(dict(sorted(kinds.items()))),
        "by_tenant": dg.MetadataValue.json({t: len(found) for t, found in recorded.items()}),
    })


@dg.asset(group_name="ledger", deps=[ledger_heads, observed_outcomes], kinds={"iceberg"})
def iceberg_tables(context: dg.AssetExecutionContext, db: OperationalDbResource,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Signals, proposals, decisions, actions, outcomes and ledger entries appended to Iceberg tables
    (partitioned by tenant and day) since the last export, for outcome analysis: DuckDB locally,
    Athena in AWS. Watermarks per table and tenant live in the tables' snapshot summaries."""
    from actions.outcomes import OutcomeStore
    from pipelines.export import export_to_warehouse

    lake = warehouse.warehouse()
    written = export_to_warehouse(lake, db.signals(), db.proposals(), db.ledger(), OutcomeStore(db.url))
    return dg.MaterializeResult(metadata={
        "rows_written": dg.MetadataValue.json(written),
        "total_rows_written": sum(written.values()),
        "rows_in_tables": dg.MetadataValue.json({t: lake.row_count(t) for t in lake.table_names()}),
    })


@dg.asset(group_name="ledger", deps=[iceberg_tables], kinds={"duckdb"})
def outcome_report(context: dg.AssetExecutionContext,
                   warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every saved outcome query (approval rate and time to decision, signal-to-outcome conversion,
    win/churn with vs without executed actions, policy denials by reason, ...) run by DuckDB over the
    Iceberg tables: each as a table and a bar chart (PNG)."""
    from ledger.analysis import list_queries, markdown_table, run_query
    from ledger.plots import plot_result

    lake = warehouse.warehouse()
    plots = Path(warehouse.warehouse_dir).parent / "reports"
    metadata: dict[str, Any] = {}
    for query in list_queries():
        table = run_query(lake, query.name)
        png = plot_result(table, query.name, plots / f"{query.name}.png")
        image = base64.b64encode(png.read_bytes()).decode()
        metadata[query.name] = dg.MetadataValue.md(
            f"{query.description}\n\n{markdown_table(table)}\n\n![{query.name}](data:image/png;base64,{image})")
        metadata[f"{query.name}_plot"] = dg.MetadataValue.path(str(png))
        metadata[f"{query.name}_rows"] = table.num_rows
    return dg.MaterializeResult(metadata=metadata)
