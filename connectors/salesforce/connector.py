"""SalesforceConnector: Account, Contact, Opportunity and Task of one org as a RawSnapshot.

Full resync selects every row; an incremental pull selects ``SystemModstamp > cursor - overlap``
(SystemModstamp moves on any change, including system ones, so it is the safe high-water field).
Records come back as Salesforce sent them, flattened (``Owner.Email``), every value as text."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from connectors.credentials import SalesforceCredentials
from connectors.cursors import CursorStore
from connectors.records import RawSnapshot
from connectors.salesforce.api import Json, SalesforceApi

Row = dict[str, str | None]

_OPPORTUNITY_PREFIX = "006"  # Salesforce key prefixes: WhatId/WhoId point at several object types
_CONTACT_PREFIX = "003"


@dataclass(frozen=True)
class SalesforceFields:
    """API names of org-specific (custom) fields revloop reads; None: the org has none.

    ``contact_status`` names a Contact field whose value says whether the person is still at the
    customer ("Active") or has left ("Departed" / "No longer at company"); without it every contact
    is active."""

    arr: str | None = None
    seats_licensed: str | None = None
    renewal_date: str | None = None
    contact_role: str | None = None
    contact_status: str | None = None


@dataclass(frozen=True)
class _Spec:
    sobject: str
    canonical: str
    fields: tuple[str, ...]


_SPECS = (
    _Spec("Account", "accounts", ("Id", "Name", "Website", "Industry", "Owner.Email", "SystemModstamp")),
    _Spec("Contact", "contacts", ("Id", "AccountId", "FirstName", "LastName", "Email", "Title",
                                  "SystemModstamp")),
    _Spec("Opportunity", "opportunities", ("Id", "AccountId", "Name", "StageName", "Amount", "CloseDate",
                                           "Owner.Email", "LastStageChangeDate", "SystemModstamp")),
    _Spec("Task", "activities", ("Id", "AccountId", "WhatId", "WhoId", "Subject", "Type", "TaskSubtype",
                                 "CallType", "ActivityDate", "CompletedDateTime", "CreatedDate",
                                 "SystemModstamp")),
)


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def flatten(record: Mapping[str, Any], prefix: str = "") -> Row:
    """``{"Owner": {"attributes": ..., "Email": "x"}}`` -> ``{"Owner.Email": "x"}``; attributes dropped."""
    row: Row = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            row.update(flatten(value, f"{prefix}{key}."))
        else:
            row[f"{prefix}{key}"] = _text(value)
    return row


def record_row(record: Mapping[str, Any]) -> Row:
    """One record as a flat row; ``Id`` is always a column, so even an empty record is accounted for."""
    return {"Id": None, **flatten(record)}


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def soql_datetime(at: datetime) -> str:
    """A SOQL datetime literal, floored to the second (the boundary is re-read, never skipped)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SalesforceConnector:
    source = "salesforce"

    def __init__(self, api: SalesforceApi, *, cursors: CursorStore | None = None,
                 fields: SalesforceFields | None = None, overlap: timedelta = timedelta(0),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._api = api
        self._cursors = cursors
        self._fields = fields or SalesforceFields()
        self._overlap = overlap
        self._now = now

    @classmethod
    def from_credentials(cls, credentials: SalesforceCredentials, *, cursors: CursorStore | None = None,
                         fields: SalesforceFields | None = None, **api_options: Any) -> SalesforceConnector:
        return cls(SalesforceApi(credentials, **api_options), cursors=cursors, fields=fields)

    def _custom(self, sobject: str) -> dict[str, str]:
        """revloop column -> custom field API name, for the fields configured on ``sobject``."""
        f = self._fields
        wanted = {
            "Account": {"arr": f.arr, "seats_licensed": f.seats_licensed, "renewal_date": f.renewal_date},
            "Contact": {"role": f.contact_role, "contact_status": f.contact_status},
        }.get(sobject, {})
        return {name: api_name for name, api_name in wanted.items() if api_name}

    def soql(self, spec: _Spec, since: datetime | None) -> str:
        fields = list(dict.fromkeys([*spec.fields, *self._custom(spec.sobject).values()]))
        where = f" WHERE SystemModstamp > {soql_datetime(since)}" if since is not None else ""
        return f"SELECT {', '.join(fields)} FROM {spec.sobject}{where} ORDER BY SystemModstamp, Id"

    def pull(self, tenant: str, full: bool = False) -> RawSnapshot:
        """Incremental from the stored cursors; ``full=True`` (or no cursor yet) selects everything."""
        pulled_at = self._now().astimezone(UTC).replace(microsecond=0)
        marks = {} if full or self._cursors is None else self._cursors.get(tenant, self.source)
        objects: dict[str, pl.DataFrame] = {}
        reached: dict[str, datetime] = {}
        for spec in _SPECS:
            since = marks.get(spec.sobject)
            rows = [self._derive(spec.sobject, record_row(r))
                    for r in self._select(spec, None if since is None else since - self._overlap)]
            objects[spec.canonical] = _frame(rows)
            stamps = [at for row in rows if (at := _instant(row.get("SystemModstamp"))) is not None]
            if stamps or since is not None:
                reached[spec.sobject] = max([*stamps, *([since] if since else [])])
        complete = all(spec.sobject not in marks for spec in _SPECS)
        return RawSnapshot(tenant, self.source, pulled_at, objects, complete=complete, cursors=reached)

    def _select(self, spec: _Spec, since: datetime | None) -> list[Json]:
        page = self._api.query(spec.sobject, self.soql(spec, since))
        records: list[Json] = list(page.get("records") or [])
        seen: set[str] = set()
        while not page.get("done", True) and page.get("nextRecordsUrl"):
            url = str(page["nextRecordsUrl"])
            if url in seen:
                raise RuntimeError(f"Salesforce {spec.sobject} paging repeated {url}; stopping")
            seen.add(url)
            page = self._api.query_more(spec.sobject, url)
            records.extend(page.get("records") or [])
        return records

    def _derive(self, sobject: str, row: Row) -> Row:
        for name, api_name in self._custom(sobject).items():
            row[f"revloop.{name}"] = row.get(api_name)
        if sobject == "Contact":
            row["revloop.contact_status"] = row.get("revloop.contact_status") or "active"
        if sobject == "Task":
            subtype = row.get("TaskSubtype") or "Task"
            row["revloop.activity_type"] = "Meeting" if row.get("Type") == "Meeting" else subtype
            if subtype == "Call" and row.get("CallType"):
                row["revloop.direction"] = row["CallType"]
            else:  # a logged email went out; any other task is the team's own to-do
                row["revloop.direction"] = "outbound" if subtype in ("Email", "ListEmail") else "internal"
            what, who = row.get("WhatId") or "", row.get("WhoId") or ""
            row["revloop.opportunity_id"] = what if what.startswith(_OPPORTUNITY_PREFIX) else None
            row["revloop.contact_id"] = who if who.startswith(_CONTACT_PREFIX) else None
            row["revloop.occurred_at"] = row.get("CompletedDateTime") or row.get("ActivityDate") \
                or row.get("CreatedDate")
        return row


def _frame(rows: list[Row]) -> pl.DataFrame:
    columns = list(dict.fromkeys(name for row in rows for name in row))
    schema = {name: pl.String for name in columns}
    return pl.from_dicts(rows, schema=schema) if rows else pl.DataFrame(schema=schema)
