"""Incremental snapshots are upserted onto the previous state; telemetry rows join the CRM's accounts."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from perception.increments import IncrementWithoutBase, apply_increment, merge_source
from perception.normalize import NormalizedSnapshot
from perception.schemas import SCHEMAS

T0 = datetime(2026, 3, 1, 6, tzinfo=UTC)
T1 = datetime(2026, 3, 2, 6, tzinfo=UTC)


def account(account_id: str, name: str, domain: str | None, arr: float, tenant: str = "acme") -> dict:
    return {"tenant": tenant, "account_id": account_id, "name": name, "domain": domain, "industry": None,
            "owner_email": None, "arr": arr, "seats_licensed": None, "renewal_date": None}


def usage(ref: str, users: int, tenant: str = "acme") -> dict:
    return {"tenant": tenant, "usage_id": f"{ref}|core|2026-03-02", "account_id": ref, "product": "core",
            "day": date(2026, 3, 2), "active_users": users, "seats_used": users}


def snap(at: datetime, source: str = "hubspot", **rows: list[dict]) -> NormalizedSnapshot:
    return NormalizedSnapshot("acme", source, at, {name: pl.DataFrame(r, schema=SCHEMAS[name])
                                                    for name, r in rows.items()})


def test_an_increment_replaces_changed_rows_adds_new_ones_and_keeps_the_rest() -> None:
    full = snap(T0, accounts=[account("1", "Initech", "initech.example", 10.0),
                              account("2", "Globex", "globex.example", 20.0)],
                usage=[usage("1", 5)])
    partial = snap(T1, accounts=[account("2", "Globex", "globex.example", 25.0),
                                 account("3", "Hooli", "hooli.example", 30.0)])
    state = apply_increment(full, partial)
    assert state.pulled_at == T1
    arr = dict(state.table("accounts").select("account_id", "arr").iter_rows())
    assert arr == {"1": 10.0, "2": 25.0, "3": 30.0}
    assert state.table("usage").equals(full.table("usage"))  # not sent: carried over, not deleted


def test_an_increment_without_a_full_snapshot_before_it_is_refused_with_what_to_do() -> None:
    with pytest.raises(IncrementWithoutBase, match="full pull"):
        apply_increment(None, snap(T1, accounts=[account("2", "Globex", None, 1.0)]))


def test_telemetry_rows_link_to_crm_accounts_and_unresolved_ones_are_quarantined() -> None:
    crm = snap(T1, accounts=[account("001A", "Initech, Inc.", "initech.example", 10.0),
                             account("001B", "Globex GmbH", "globex.example", 20.0)])
    telemetry = snap(T1, source="telemetry",
                     usage=[usage("https://www.initech.example/app", 7), usage("GLOBEX gmbh", 3),
                            usage("nobody.example", 1)])
    merged, links = merge_source(crm, telemetry)
    assert dict(merged.table("usage").select("account_id", "active_users").iter_rows()) == {"001A": 7,
                                                                                          "001B": 3}
    reasons = dict(links.select("ref", "match_reason").iter_rows())
    assert reasons["https://www.initech.example/app"] == "domain"
    assert reasons["GLOBEX gmbh"] == "normalized_name"
    assert merged.quarantine.height == 1
    assert merged.quarantine.row(0, named=True)["reason"].startswith("unresolved_account: nobody.example")
    assert merged.table("accounts").equals(crm.table("accounts"))
