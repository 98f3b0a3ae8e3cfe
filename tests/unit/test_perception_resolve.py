"""Entity resolution links telemetry to CRM accounts by id, domain or name, and says why."""

from __future__ import annotations

from datetime import date

import polars as pl

from perception.resolve import link_to_accounts, resolve_accounts
from perception.schemas import SCHEMAS


def account(tenant: str, account_id: str, name: str, domain: str | None) -> dict:
    return {"tenant": tenant, "account_id": account_id, "name": name, "domain": domain, "industry": None,
            "owner_email": None, "arr": None, "seats_licensed": None, "renewal_date": None}


ACCOUNTS = pl.DataFrame([
    account("acme", "001A", "Initech, Inc.", "initech.example"),
    account("acme", "001B", "Globex GmbH", "globex.example"),
    account("acme", "001C", "Umbrella Corp", None),
    account("acme", "001D", "Umbrella Corporation", "umbrella-eu.example"),
    account("beta", "002A", "Hooli LLC", "hooli.example"),
], schema=SCHEMAS["accounts"])


def links(tenant: str, *refs: str) -> dict[str, tuple[str | None, str]]:
    frame = resolve_accounts(pl.DataFrame({"tenant": [tenant] * len(refs), "ref": list(refs)}), ACCOUNTS)
    return {r["ref"]: (r["account_id"], r["match_reason"]) for r in frame.to_dicts()}


def test_each_level_links_and_keeps_its_reason() -> None:
    assert links("acme", "001B", "https://www.initech.example/app", "ops@globex.example", "INITECH inc") == {
        "001B": ("001B", "explicit_id"),
        "https://www.initech.example/app": ("001A", "domain"),
        "ops@globex.example": ("001B", "domain"),
        "INITECH inc": ("001A", "normalized_name"),
    }


def test_an_ambiguous_name_is_not_guessed_and_an_unknown_ref_is_unresolved() -> None:
    assert links("acme", "umbrella", "Wayne Enterprises") == {
        "umbrella": (None, "ambiguous: normalized_name matches 2 accounts"),
        "Wayne Enterprises": (None, "unresolved"),
    }


def test_matching_never_crosses_tenants() -> None:
    assert links("acme", "hooli.example", "002A") == {
        "hooli.example": (None, "unresolved"), "002A": (None, "unresolved")}
    assert links("beta", "hooli.example") == {"hooli.example": ("002A", "domain")}


def test_usage_rows_are_linked_or_quarantined_with_the_reason() -> None:
    usage = pl.DataFrame([
        {"tenant": "acme", "usage_id": "u1", "account_id": "initech.example", "product": "core",
         "day": date(2026, 3, 1), "active_users": 10, "seats_used": 12},
        {"tenant": "acme", "usage_id": "u2", "account_id": "nobody.example", "product": "core",
         "day": date(2026, 3, 1), "active_users": 3, "seats_used": 3},
    ], schema=SCHEMAS["usage"])

    good, bad, used = link_to_accounts(usage, "usage", "usage_id", ACCOUNTS)

    assert good["account_id"].to_list() == ["001A"] and good.columns == usage.columns
    assert bad.select("entity_id", "reason").rows() == [
        ("u2", "unresolved_account: nobody.example (unresolved)")]
    assert '"account_id":"nobody.example"' in bad["record"][0]
    assert used.height == 2
