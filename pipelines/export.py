"""Rows from the operational stores, shaped for the Iceberg tables of ledger/tables.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.tables import ledger_entry_rows

if TYPE_CHECKING:
    from actions.store import OperationalStore
    from ledger.iceberg import IcebergWarehouse
    from ledger.store import Ledger
    from perception.signal_store import SignalStore


def export_to_warehouse(warehouse: IcebergWarehouse, signals: SignalStore, store: OperationalStore,
                        ledger: Ledger) -> dict[str, int]:
    """Append what is new (signals, decisions, actions, ledger entries; idempotent on their keys)
    and replace the proposals table (their status changes). Returns rows written per table."""
    written: dict[str, int] = {}
    written["signals"] = warehouse.append_new("signals", [
        {"tenant": s.tenant, "signal_id": s.signal_id, "account_id": s.account_id,
         "entity_id": s.entity_id, "kind": str(s.kind), "severity": str(s.severity),
         "source": s.source, "observed_at": s.observed_at}
        for s in signals.list()], key=("tenant", "signal_id"))
    written["proposals"] = warehouse.replace("proposals", store.proposal_rows())
    written["decisions"] = warehouse.append_new("decisions", store.decision_rows(),
                                                key=("tenant", "decision_id"))
    written["actions"] = warehouse.append_new("actions", store.action_rows(),
                                              key=("tenant", "idempotency_key"))
    written["ledger_entries"] = warehouse.append_new("ledger_entries", ledger_entry_rows(
        e for tenant in ledger.tenants() for e in ledger.entries(tenant)), key=("tenant", "seq"))
    return written
