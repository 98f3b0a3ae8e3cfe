"""Canonical tables every connector's data is normalized into (polars dtypes).

Every table has `tenant` and `account_id`; ids are strings; dates are `pl.Date`. The key column names
one row; usage's key `usage_id` is `<account_id>|<product>|<YYYY-MM-DD>`."""

from __future__ import annotations

import polars as pl

OPEN_STAGES: tuple[str, ...] = ("qualification", "discovery", "proposal", "negotiation")
CLOSED_STAGES: tuple[str, ...] = ("closed_won", "closed_lost")
STAGES: tuple[str, ...] = OPEN_STAGES + CLOSED_STAGES
ROLES: tuple[str, ...] = ("champion", "economic_buyer", "user")
CONTACT_STATUSES: tuple[str, ...] = ("active", "departed")

ACCOUNTS = pl.Schema({
    "tenant": pl.String,
    "account_id": pl.String,
    "name": pl.String,
    "domain": pl.String,  # lower case, no scheme, no leading www.
    "industry": pl.String,  # snake_case
    "owner_email": pl.String,  # lower case
    "arr": pl.Float64,  # annual recurring revenue
    "seats_licensed": pl.Int64,
    "renewal_date": pl.Date,
})

CONTACTS = pl.Schema({
    "tenant": pl.String,
    "contact_id": pl.String,
    "account_id": pl.String,
    "name": pl.String,
    "email": pl.String,
    "title": pl.String,
    "role": pl.String,  # one of ROLES
    "status": pl.String,  # one of CONTACT_STATUSES
})

OPPORTUNITIES = pl.Schema({
    "tenant": pl.String,
    "opportunity_id": pl.String,
    "account_id": pl.String,
    "name": pl.String,
    "stage": pl.String,  # one of STAGES
    "amount": pl.Float64,
    "close_date": pl.Date,
    "owner_email": pl.String,
})

USAGE = pl.Schema({
    "tenant": pl.String,
    "usage_id": pl.String,
    "account_id": pl.String,
    "product": pl.String,
    "day": pl.Date,
    "active_users": pl.Int64,
    "seats_used": pl.Int64,
})

SCHEMAS: dict[str, pl.Schema] = {
    "accounts": ACCOUNTS, "contacts": CONTACTS, "opportunities": OPPORTUNITIES, "usage": USAGE,
}
KEYS: dict[str, str] = {
    "accounts": "account_id", "contacts": "contact_id", "opportunities": "opportunity_id",
    "usage": "usage_id",
}
# Canonical table -> the entity type a signal about one of its rows names.
ENTITY_TYPES: dict[str, str] = {
    "accounts": "account", "contacts": "contact", "opportunities": "opportunity", "usage": "account",
}

QUARANTINE = pl.Schema({
    "tenant": pl.String,
    "object": pl.String,
    "entity_id": pl.String,  # null when the record had no usable id
    "reason": pl.String,
    "record": pl.String,  # the raw record as JSON text
})


def empty(object_: str) -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMAS[object_])
