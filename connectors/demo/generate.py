"""Day-0 population of one tenant: accounts, contacts, opportunities, products and usage dynamics."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from connectors.demo.catalog import (
    EPOCH,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    NAME_FIRST,
    NAME_SECOND,
    OPEN_STAGES,
    PRODUCT_CATALOG,
    STALL_DAYS,
    TITLES,
)
from connectors.demo.state import Record


@dataclass
class UsageDynamics:
    """Hidden per account x product state the telemetry is drawn from (arrays aligned by row)."""

    account_id: np.ndarray
    product: np.ndarray
    base_active: np.ndarray
    level: np.ndarray
    seat_ratio: np.ndarray


@dataclass
class TenantPopulation:
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    usage: UsageDynamics | None = None
    counters: dict[str, int] = field(default_factory=dict)


def record_id(tenant: str, prefix: str, n: int) -> str:
    return f"{tenant}-{prefix}-{n:06d}"


def owners_of(tenant: str) -> list[str]:
    return [f"{FIRST_NAMES[i].lower()}.{LAST_NAMES[i].lower()}@{tenant}.example" for i in range(5)]


def new_contact(rng: np.random.Generator, tenant: str, n: int, account: Record, role: str) -> Record:
    first = FIRST_NAMES[int(rng.integers(len(FIRST_NAMES)))]
    last = LAST_NAMES[int(rng.integers(len(LAST_NAMES)))]
    titles = TITLES[role]
    domain = account.data["domain"]
    data = {"account_id": account.record_id, "first_name": first, "last_name": last,
            "email": f"{first.lower()}.{last.lower()}{n}@{domain}",
            "title": titles[int(rng.integers(len(titles)))], "role": role, "status": "active"}
    return Record(record_id(tenant, "con", n), account.record_id, 1, data)


def new_opportunity(rng: np.random.Generator, tenant: str, n: int, account: Record, day_index: int,
                    stage: str, days_in_stage: int = 0) -> Record:
    """``engagement`` is hidden state (not exported): normal | ghosting | dark (see activities.py)."""
    close = EPOCH + timedelta(days=day_index + int(rng.integers(25, 180)))
    data = {"account_id": account.record_id, "name": f"{account.data['name']} - expansion {n}",
            "stage": stage, "amount": float(round(rng.lognormal(10.3, 0.8), -2)),
            "close_date": close.isoformat(), "owner_email": account.data["owner_email"],
            "stage_changed_on": (EPOCH + timedelta(days=day_index - days_in_stage)).isoformat(),
            "engagement": "normal"}
    return Record(record_id(tenant, "opp", n), account.record_id, 1, data)


def populate(tenant: str, rng: np.random.Generator, n_accounts: int) -> TenantPopulation:
    owners = owners_of(tenant)
    n_products = int(rng.integers(2, 4))
    products = {pid: Record(pid, None, 1, {"name": name}) for pid, name in PRODUCT_CATALOG[:n_products]}

    seats = np.round(np.exp(rng.uniform(np.log(40), np.log(2000), n_accounts))).astype(int)
    price = rng.uniform(300, 900, n_accounts)
    renew = rng.integers(30, 365, n_accounts)
    first = rng.integers(len(NAME_FIRST), size=n_accounts)
    second = rng.integers(len(NAME_SECOND), size=n_accounts)
    industry = rng.integers(len(INDUSTRIES), size=n_accounts)
    owner = rng.integers(len(owners), size=n_accounts)
    accounts: dict[str, Record] = {}
    for i in range(n_accounts):
        name = f"{NAME_FIRST[first[i]]} {NAME_SECOND[second[i]]} {i}"
        data = {"name": name, "domain": f"{name.lower().replace(' ', '')}.example",
                "industry": INDUSTRIES[industry[i]], "owner_email": owners[owner[i]],
                "arr": float(round(seats[i] * price[i], -2)), "seats_licensed": int(seats[i]),
                "renewal_date": (EPOCH + timedelta(days=int(renew[i]))).isoformat()}
        rid = record_id(tenant, "acc", i)
        accounts[rid] = Record(rid, None, 1, data)

    contacts: dict[str, Record] = {}
    opportunities: dict[str, Record] = {}
    n_contacts = rng.integers(2, 7, n_accounts)
    n_opps = rng.integers(0, 4, n_accounts)
    extra_roles = np.array(["champion", "economic_buyer", "user"])
    for i, account in enumerate(accounts.values()):
        roles = ["champion"] + list(rng.choice(extra_roles, size=n_contacts[i] - 1, p=[0.2, 0.3, 0.5]))
        for role in roles:
            contact = new_contact(rng, tenant, len(contacts), account, str(role))
            contacts[contact.record_id] = contact
        for _ in range(n_opps[i]):
            stage = OPEN_STAGES[int(rng.integers(len(OPEN_STAGES)))]
            # never stalled on day 0: the world starts clean, so every stall is a dated event
            opp = new_opportunity(rng, tenant, len(opportunities), account, 0, stage,
                                  int(rng.integers(0, STALL_DAYS[stage] + 1)))
            opportunities[opp.record_id] = opp

    account_ids = np.array(list(accounts), dtype=object)
    product_ids = np.array(list(products), dtype=object)
    acc_col = np.repeat(account_ids, len(product_ids))
    prod_col = np.tile(product_ids, len(account_ids))
    seat_ratio = rng.uniform(0.45, 0.8, acc_col.size)
    seats_col = np.repeat(seats, len(product_ids))
    base_active = np.maximum(15.0, seats_col * seat_ratio * rng.uniform(0.6, 0.9, acc_col.size))
    usage = UsageDynamics(acc_col, prod_col, base_active, np.ones(acc_col.size), seat_ratio)
    return TenantPopulation(
        records={"accounts": accounts, "contacts": contacts, "opportunities": opportunities,
                 "products": products, "tasks": {}, "activities": {}},
        usage=usage,
        counters={"contacts": len(contacts), "opportunities": len(opportunities), "tasks": 0,
                  "activities": 0},
    )
