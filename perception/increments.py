"""Partial (incremental) snapshots onto full state, and a second source's rows onto the CRM's accounts.

An incremental pull (``RawSnapshot.complete`` is False) holds only the records changed since the
cursor. Normalized, it is upserted onto the tenant's previous state: a row replaces the row with the
same key, a record absent from the increment is unchanged (not deleted), tables the source did not
send are carried over. Deletions show only in a complete snapshot (connectors/README.md)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from perception.normalize import NormalizedSnapshot
from perception.resolve import link_to_accounts
from perception.schemas import KEYS, QUARANTINE, SCHEMAS


class IncrementWithoutBase(ValueError):
    """An incremental snapshot arrived for a tenant with no earlier full state to apply it to."""


def apply_increment(previous: NormalizedSnapshot | None, partial: NormalizedSnapshot) -> NormalizedSnapshot:
    """The tenant's full state after ``partial``, stamped with the partial snapshot's pulled_at."""
    if previous is None:
        raise IncrementWithoutBase(
            f"tenant {partial.tenant!r}: an incremental snapshot from {partial.source!r} "
            f"({partial.pulled_at.isoformat()}) has no earlier full snapshot to apply to; run a full "
            "pull first (reset the source's cursors: connectors.cursors.CursorStore.reset)")
    if previous.tenant != partial.tenant:
        raise ValueError(f"cannot apply tenant {partial.tenant!r}'s increment to tenant {previous.tenant!r}")
    tables = {}
    for name in SCHEMAS:
        base, changed = previous.table(name), partial.table(name)
        if changed.height == 0:
            tables[name] = base
            continue
        key = KEYS[name]
        kept = base.join(changed.select(key), on=key, how="anti")
        tables[name] = pl.concat([kept, changed.select(base.columns)], how="vertical").sort(key)
    return replace(partial, tables=tables)


def merge_source(crm: NormalizedSnapshot, other: NormalizedSnapshot,
                 tables: tuple[str, ...] = ("usage",)) -> tuple[NormalizedSnapshot, pl.DataFrame]:
    """``crm`` with ``tables`` taken from ``other`` (e.g. product telemetry), each row's account
    resolved to a CRM account (explicit id, then domain, then normalized name; perception/resolve.py).
    Returns the merged snapshot (its quarantine includes rows that could not be linked) and the links
    used, with their match reasons."""
    if crm.tenant != other.tenant:
        raise ValueError(f"cannot merge tenant {other.tenant!r}'s {other.source} rows into tenant "
                         f"{crm.tenant!r}")
    merged = dict(crm.tables)
    quarantine = [crm.quarantine, other.quarantine]
    links = []
    for name in tables:
        good, bad, used = link_to_accounts(other.table(name), name, KEYS[name], crm.table("accounts"))
        merged[name] = good
        quarantine.append(bad.select(QUARANTINE.names()))
        links.append(used)
    return (replace(crm, tables=merged, quarantine=pl.concat(quarantine, how="vertical")),
            pl.concat(links, how="vertical") if links else pl.DataFrame())
