"""HubSpotConnector: companies, contacts, deals, notes and tasks of one portal as a RawSnapshot.

Full resync lists every record (``GET /crm/v3/objects/<type>``, ``after`` paging). Incremental pulls
search for records modified since the stored cursor minus ``overlap`` (search results are indexed a
little after the write, so the overlap re-reads the boundary rather than skipping a late-indexed
record). Associations come from the v4 batch endpoint, one call per 500 records, for both modes."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from connectors.credentials import HubSpotCredentials
from connectors.cursors import CursorStore
from connectors.hubspot.api import HubSpotApi, Json
from connectors.hubspot.rows import (
    Row,
    base_row,
    pick_association,
    plain_subject,
    primary_buying_role,
    text_frame,
)
from connectors.hubspot.stages import HubSpotStageLabels
from connectors.records import RawSnapshot

_SEARCH_WINDOW = 10_000  # HubSpot's search pages no further than this offset for one query
_ASSOCIATION_BATCH = 500


@dataclass(frozen=True)
class HubSpotFields:
    """Internal names of portal-specific (custom) properties revloop reads; None: the portal has none.

    ``contact_status`` names a contact property whose value says whether the person is still at the
    customer ("active") or has left ("departed" / "No longer at company"); without it every contact
    HubSpot returns is active."""

    arr: str | None = None
    seats_licensed: str | None = None
    renewal_date: str | None = None
    contact_status: str | None = None


@dataclass(frozen=True)
class _Spec:
    object_type: str
    properties: tuple[str, ...]
    modified: str  # the property the search API filters on (contacts spell it differently)
    associate: tuple[str, ...] = ()


_SPECS = (
    _Spec("companies", ("name", "domain", "industry", "hubspot_owner_id", "hs_lastmodifieddate"),
          "hs_lastmodifieddate"),
    _Spec("contacts", ("firstname", "lastname", "email", "jobtitle", "hs_buying_role", "lastmodifieddate"),
          "lastmodifieddate", ("companies",)),
    _Spec("deals", ("dealname", "dealstage", "pipeline", "amount", "closedate", "hubspot_owner_id",
                    "hs_lastmodifieddate"), "hs_lastmodifieddate", ("companies",)),
    _Spec("notes", ("hs_timestamp", "hs_note_body", "hs_lastmodifieddate"), "hs_lastmodifieddate",
          ("companies", "contacts", "deals")),
    _Spec("tasks", ("hs_timestamp", "hs_task_subject", "hs_task_type", "hs_task_status",
                    "hs_lastmodifieddate"), "hs_lastmodifieddate", ("companies", "contacts", "deals")),
)


class SearchWindowExceeded(RuntimeError):
    """More records share one modification instant than HubSpot's search can page through."""


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        if value.isdigit():  # epoch milliseconds, as search-filterable date properties are
            return datetime.fromtimestamp(int(value) / 1000, UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _next_after(page: Json) -> str | None:
    after = ((page.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None


def _max_updated(records: Iterable[Json]) -> datetime | None:
    instants = [at for r in records if (at := _instant(r.get("updatedAt"))) is not None]
    return max(instants) if instants else None


class HubSpotConnector:
    source = "hubspot"

    def __init__(self, api: HubSpotApi, *, cursors: CursorStore | None = None,
                 fields: HubSpotFields | None = None, overlap: timedelta = timedelta(minutes=5),
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 stage_labels: HubSpotStageLabels | None = None) -> None:
        self._api = api
        self._cursors = cursors
        self._stage_store = stage_labels  # where each pull saves the portal's stages for webhooks
        self._fields = fields or HubSpotFields()
        self._overlap = overlap
        self._now = now

    @classmethod
    def from_credentials(cls, credentials: HubSpotCredentials, *, cursors: CursorStore | None = None,
                         fields: HubSpotFields | None = None, stage_labels: HubSpotStageLabels | None = None,
                         **api_options: Any) -> HubSpotConnector:
        return cls(HubSpotApi(credentials, **api_options), cursors=cursors, fields=fields,
                   stage_labels=stage_labels)

    def pull(self, tenant: str, full: bool = False) -> RawSnapshot:
        """Incremental from the stored cursors; ``full=True`` (or no cursor yet) lists everything."""
        pulled_at = self._now().astimezone(UTC).replace(microsecond=0)
        marks = {} if full or self._cursors is None else self._cursors.get(tenant, self.source)
        stages = self._stage_labels()
        if self._stage_store is not None:
            self._stage_store.replace(tenant, stages)
        extra = self._extra_properties(stages)
        records: dict[str, list[Json]] = {}
        reached: dict[str, datetime] = {}
        for spec in _SPECS:
            since = marks.get(spec.object_type)
            properties = [*spec.properties, *extra.get(spec.object_type, ())]
            if since is None:
                found = self._list_all(spec.object_type, properties)
            else:
                found = self._search_since(spec, properties, since - self._overlap)
            records[spec.object_type] = found
            mark = _max_updated(found)
            if mark is not None or since is not None:
                reached[spec.object_type] = max(m for m in (mark, since) if m is not None)
        links = {spec.object_type: {to: self._associations(spec.object_type, to, records[spec.object_type])
                                    for to in spec.associate} for spec in _SPECS}
        owners = self._owner_emails()
        objects = {
            "accounts": text_frame([self._account(r, owners) for r in records["companies"]]),
            "contacts": text_frame([self._contact(r, links["contacts"]) for r in records["contacts"]]),
            "opportunities": text_frame([_deal(r, links["deals"], owners, stages) for r in records["deals"]]),
            "activities": pl.concat([
                text_frame([_activity(r, "note", links["notes"]) for r in records["notes"]]),
                text_frame([_activity(r, "task", links["tasks"]) for r in records["tasks"]]),
            ], how="diagonal"),
        }
        complete = all(spec.object_type not in marks for spec in _SPECS)
        return RawSnapshot(tenant, self.source, pulled_at, objects, complete=complete, cursors=reached)

    def _extra_properties(self, stages: dict[str, str]) -> dict[str, tuple[str, ...]]:
        f = self._fields
        return {
            "companies": tuple(p for p in (f.arr, f.seats_licensed, f.renewal_date) if p),
            "contacts": (f.contact_status,) if f.contact_status else (),
            "deals": tuple(f"hs_date_entered_{stage}" for stage in sorted(stages)),
        }

    def _list_all(self, object_type: str, properties: list[str]) -> list[Json]:
        found: list[Json] = []
        after: str | None = None
        while True:
            page = self._api.list_page(object_type, properties, after)
            found.extend(page.get("results") or [])
            following = _next_after(page)
            if following is None:
                return found
            if following == after:
                raise RuntimeError(f"HubSpot {object_type} paging repeated cursor {after!r}; stopping")
            after = following

    def _search_since(self, spec: _Spec, properties: list[str], since: datetime) -> list[Json]:
        found: dict[str, Json] = {}
        start = since
        while True:
            after: str | None = None
            last: datetime | None = None
            while True:
                request: Json = {
                    "filterGroups": [{"filters": [{"propertyName": spec.modified, "operator": "GTE",
                                                   "value": str(int(start.timestamp() * 1000))}]}],
                    "sorts": [{"propertyName": spec.modified, "direction": "ASCENDING"}],
                    "properties": properties, "limit": 200, **({"after": after} if after else {}),
                }
                page = self._api.search_page(spec.object_type, request)
                for record in page.get("results") or []:
                    found[str(record.get("id") or f"__no_id_{len(found)}")] = record
                    last = _instant((record.get("properties") or {}).get(spec.modified)) or \
                        _instant(record.get("updatedAt")) or last
                after = _next_after(page)
                if after is None:
                    return list(found.values())
                if int(after) >= _SEARCH_WINDOW:
                    break
            if last is None or last <= start:
                raise SearchWindowExceeded(
                    f"more than {_SEARCH_WINDOW} HubSpot {spec.object_type} were modified at "
                    f"{start.isoformat()}; the search API cannot page past them. Run a full resync "
                    "(pull(full=True)) for this tenant")
            start = last  # restart the query from the last instant seen; ids dedupe the overlap

    def _associations(self, from_type: str, to_type: str, records: list[Json]) -> dict[str, str | None]:
        ids = [str(r["id"]) for r in records if r.get("id")]
        picked: dict[str, str | None] = {}
        for i in range(0, len(ids), _ASSOCIATION_BATCH):
            page = self._api.associations(from_type, to_type, ids[i:i + _ASSOCIATION_BATCH])
            for result in page.get("results") or []:
                source_id = str((result.get("from") or {}).get("id"))
                picked[source_id] = pick_association(result.get("to") or [])
        return picked

    def _stage_labels(self) -> dict[str, str]:
        pipelines = self._api.deal_pipelines().get("results") or []
        return {str(stage["id"]): str(stage.get("label") or stage["id"])
                for pipeline in pipelines for stage in pipeline.get("stages") or [] if stage.get("id")}

    def _owner_emails(self) -> dict[str, str | None]:
        emails: dict[str, str | None] = {}
        after: str | None = None
        while True:
            page = self._api.owners_page(after)
            for owner in page.get("results") or []:
                emails[str(owner.get("id"))] = owner.get("email")
            after = _next_after(page)
            if after is None:
                return emails

    def _account(self, record: Json, owners: dict[str, str | None]) -> Row:
        row = base_row(record)
        row["revloop.owner_email"] = owners.get(row.get("hubspot_owner_id") or "")
        for canonical in ("arr", "seats_licensed", "renewal_date"):
            name = getattr(self._fields, canonical)
            if name:
                row[f"revloop.{canonical}"] = row.get(name)
        return row

    def _contact(self, record: Json, links: dict[str, dict[str, str | None]]) -> Row:
        row = base_row(record)
        row["revloop.account_id"] = links["companies"].get(row.get("id") or "")
        row["revloop.buying_role"] = primary_buying_role(row.get("hs_buying_role"))
        status = row.get(self._fields.contact_status) if self._fields.contact_status else None
        row["revloop.contact_status"] = status or "active"
        return row


def _deal(record: Json, links: dict[str, dict[str, str | None]], owners: dict[str, str | None],
          stages: dict[str, str]) -> Row:
    row = base_row(record)
    stage = row.get("dealstage") or ""
    row["revloop.account_id"] = links["companies"].get(row.get("id") or "")
    row["revloop.owner_email"] = owners.get(row.get("hubspot_owner_id") or "")
    row["revloop.stage_label"] = stages.get(stage, stage or None)
    row["revloop.stage_entered_at"] = row.get(f"hs_date_entered_{stage}") if stage else None
    return row


def _activity(record: Json, kind: str, links: dict[str, dict[str, str | None]]) -> Row:
    row = base_row(record)
    own_id = row.get("id") or ""
    row["revloop.activity_type"] = kind
    row["revloop.direction"] = "internal"  # notes and tasks are the team's own records
    row["revloop.account_id"] = links["companies"].get(own_id)
    row["revloop.contact_id"] = links["contacts"].get(own_id)
    row["revloop.opportunity_id"] = links["deals"].get(own_id)
    row["revloop.subject"] = plain_subject(row.get("hs_note_body")) if kind == "note" \
        else row.get("hs_task_subject")
    return row
