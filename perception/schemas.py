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
ACTIVITY_TYPES: tuple[str, ...] = ("note", "task", "email", "call", "meeting")
DIRECTIONS: tuple[str, ...] = ("inbound", "outbound", "internal")  # inbound = the customer reached out

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
    "stage_changed_on": pl.Date,  # when the deal entered its current stage; null when the source lacks it
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

# Engagement with the account: CRM notes/tasks/emails/calls/meetings (HubSpot engagements, Salesforce Task).
ACTIVITIES = pl.Schema({
    "tenant": pl.String,
    "activity_id": pl.String,
    "account_id": pl.String,
    "opportunity_id": pl.String,  # null when not tied to a deal
    "contact_id": pl.String,  # null when not tied to a person
    "type": pl.String,  # one of ACTIVITY_TYPES
    "direction": pl.String,  # one of DIRECTIONS
    "subject": pl.String,
    "occurred_on": pl.Date,
})

SCHEMAS: dict[str, pl.Schema] = {
    "accounts": ACCOUNTS, "contacts": CONTACTS, "opportunities": OPPORTUNITIES, "activities": ACTIVITIES,
    "usage": USAGE,
}
KEYS: dict[str, str] = {
    "accounts": "account_id", "contacts": "contact_id", "opportunities": "opportunity_id",
    "activities": "activity_id", "usage": "usage_id",
}
# Canonical table -> the entity type a signal about one of its rows names.
ENTITY_TYPES: dict[str, str] = {
    "accounts": "account", "contacts": "contact", "opportunities": "opportunity", "activities": "account",
    "usage": "account",
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
