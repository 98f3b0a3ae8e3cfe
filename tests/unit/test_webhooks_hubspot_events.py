"""HubSpot webhook events -> the same field changes (and signals) the snapshot path produces."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.hubspot.connector import HubSpotFields
from connectors.records import RawSnapshot
from perception.contracts import ChangeType, FieldChange, SignalKind
from perception.diff import diff_snapshots
from perception.normalize import NormalizedSnapshot, normalize
from perception.signals import signals_from_changes
from perception.webhook_events import UnsupportedEvent, changes_from_webhook_event

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIELDS = HubSpotFields(arr="arr_usd", seats_licensed="seats", contact_status="employment_status")
OCCURRED = 1_772_442_000_000  # 2026-03-02 09:00 UTC in ms


def raw_rows() -> dict[str, list[dict[str, str | None]]]:
    return {
        "accounts": [{"id": "101", "name": "Acme Corp", "domain": "acme.com", "industry": "Software",
                      "revloop.arr": "120000", "revloop.seats_licensed": "50",
                      "revloop.renewal_date": "2026-09-30", "revloop.owner_email": "ae@vendor.com"}],
        "contacts": [
            {"id": "201", "revloop.account_id": "101", "firstname": "Dana", "lastname": "Lee",
             "email": "dana@acme.com", "jobtitle": "VP Ops", "revloop.buying_role": "CHAMPION",
             "revloop.contact_status": "active"},
            {"id": "202", "revloop.account_id": "101", "firstname": "Sam", "lastname": "Roe",
             "email": "sam@acme.com", "jobtitle": "CFO", "revloop.buying_role": "BUDGET_HOLDER",
             "revloop.contact_status": "active"}],
        "opportunities": [{"id": "301", "revloop.account_id": "101", "dealname": "Acme renewal",
                           "revloop.stage_label": "Contract Sent", "amount": "80000",
                           "closedate": "2026-03-31T00:00:00Z", "revloop.owner_email": "ae@vendor.com",
                           "revloop.stage_entered_at": "2026-02-20"}],
    }


def snapshot(rows: dict[str, list[dict[str, str | None]]], at: datetime = AT) -> NormalizedSnapshot:
    frames = {name: pl.DataFrame(r, schema={k: pl.String for k in r[0]}) for name, r in rows.items()}
    return normalize(RawSnapshot("acme", "hubspot", at, frames))


def event(subscription: str, object_id: int = 301, **extra: Any) -> dict[str, Any]:
    return {"eventId": 1, "subscriptionId": 9, "portalId": 62515, "appId": 4, "occurredAt": OCCURRED,
            "subscriptionType": subscription, "attemptNumber": 0, "objectId": object_id,
            "changeSource": "CRM_UI", **extra}


def parse(e: dict[str, Any], context: NormalizedSnapshot | None) -> list[FieldChange]:
    return changes_from_webhook_event("acme", e, source="hubspot", context=context, hubspot_fields=FIELDS)


def edited(object_: str, index: int, column: str, value: str) -> NormalizedSnapshot:
    rows = copy.deepcopy(raw_rows())
    rows[object_][index][column] = value
    return snapshot(rows)


@pytest.mark.parametrize(("subscription", "object_id", "prop", "value", "object_", "index", "column",
                          "raw"), [
    ("deal.propertyChange", 301, "closedate", "1778112000000", "opportunities", 0, "closedate", "2026-05-07"),
    ("deal.propertyChange", 301, "amount", "50000", "opportunities", 0, "amount", "50000"),
    ("deal.propertyChange", 301, "dealname", "Acme renewal 2026", "opportunities", 0, "dealname",
     "Acme renewal 2026"),
    ("contact.propertyChange", 201, "jobtitle", "COO", "contacts", 0, "jobtitle", "COO"),
    ("contact.propertyChange", 201, "email", "Dana.Lee@Acme.com", "contacts", 0, "email",
     "Dana.Lee@Acme.com"),
    ("contact.propertyChange", 201, "lastname", "Lee-Park", "contacts", 0, "lastname", "Lee-Park"),
    ("contact.propertyChange", 202, "hs_buying_role", "END_USER;CHAMPION", "contacts", 1,
     "revloop.buying_role", "CHAMPION"),
    ("contact.propertyChange", 201, "employment_status", "No longer at company", "contacts", 0,
     "revloop.contact_status", "No longer at company"),
    ("company.propertyChange", 101, "industry", "Financial Services", "accounts", 0, "industry",
     "Financial Services"),
    ("company.propertyChange", 101, "domain", "https://www.acme.io/", "accounts", 0, "domain", "acme.io"),
    ("company.propertyChange", 101, "seats", "40", "accounts", 0, "revloop.seats_licensed", "40"),
    ("company.propertyChange", 101, "arr_usd", "95000.5", "accounts", 0, "revloop.arr", "95000.5"),
])
def test_property_change_equals_the_snapshot_diff_of_the_same_edit(
        subscription: str, object_id: int, prop: str, value: str, object_: str, index: int, column: str,
        raw: str) -> None:
    before = snapshot(raw_rows())
    from_webhook = parse(event(subscription, object_id, propertyName=prop, propertyValue=value), before)
    from_pull = [c for c in diff_snapshots(before, edited(object_, index, column, raw))
                 if c.object == object_]
    assert from_webhook and from_webhook == from_pull


def test_a_slipped_close_date_raises_the_same_signal_as_the_pull() -> None:
    before = snapshot(raw_rows())
    after = edited("opportunities", 0, "closedate", "2026-05-07")
    e = event("deal.propertyChange", propertyName="closedate", propertyValue="1778112000000")
    webhook = signals_from_changes("acme", "hubspot", AT, parse(e, before), context=before)
    pull = signals_from_changes("acme", "hubspot", AT, diff_snapshots(before, after), context=before)
    assert [s.kind for s in webhook] == [SignalKind.deal_slipped]
    assert [s.dedupe_key for s in webhook] == [s.dedupe_key for s in pull]


def test_stage_moved_back_is_a_regression_and_dates_the_stage_change() -> None:
    before = snapshot(raw_rows())
    changes = parse(event("deal.propertyChange", propertyName="dealstage", propertyValue="qualifiedtobuy"),
                    before)
    assert [(c.field, c.before, c.after) for c in changes] == [
        ("stage", "negotiation", "discovery"), ("stage_changed_on", "2026-02-20", "2026-03-02")]
    signals = signals_from_changes("acme", "hubspot", AT, changes, context=before)
    assert [s.kind for s in signals] == [SignalKind.stage_regression]


def test_custom_pipeline_stage_ids_use_the_given_labels() -> None:
    before = snapshot(raw_rows())
    e = event("deal.propertyChange", propertyName="dealstage", propertyValue="1234567")
    changes = changes_from_webhook_event("acme", e, "hubspot", before, FIELDS, {"1234567": "Discovery"})
    assert changes[0].after == "discovery"
    with pytest.raises(UnsupportedEvent, match="invalid_value: stage"):
        parse(e, before)


def test_champion_leaving_raises_champion_departed() -> None:
    before = snapshot(raw_rows())
    e = event("contact.propertyChange", 201, propertyName="employment_status", propertyValue="left company")
    signals = signals_from_changes("acme", "hubspot", AT, parse(e, before), context=before)
    assert [(s.kind, s.account_id, s.entity_id) for s in signals] == [
        (SignalKind.champion_departed, "101", "201")]


def test_a_value_the_snapshot_already_has_is_no_change() -> None:
    before = snapshot(raw_rows())
    assert parse(event("deal.propertyChange", propertyName="amount", propertyValue="80000"), before) == []


def test_properties_revloop_does_not_read_are_no_change() -> None:
    before = snapshot(raw_rows())
    for prop in ("hs_lastmodifieddate", "hubspot_owner_id", "arr_usd"):
        assert parse(event("deal.propertyChange", propertyName=prop, propertyValue="7"), before) == []


def test_creation_and_deletion_are_inserts_and_deletes_like_the_diff() -> None:
    before = snapshot(raw_rows())
    created = parse(event("deal.creation", 999), before)
    assert [(c.change, c.entity_id, c.after) for c in created] == [
        (ChangeType.inserted, "999", {"opportunity_id": "999"})]
    assert parse(event("deal.creation", 301), before) == [], "already known: the pull saw it"
    deleted = parse(event("contact.deletion", 202), before)
    assert [(c.change, c.entity_id, c.account_id, c.before["email"]) for c in deleted] == [
        (ChangeType.deleted, "202", "101", "sam@acme.com")]


def test_association_changes_move_the_account_as_the_pull_picks_it() -> None:
    before = snapshot(raw_rows())
    moved = parse(event("contact.associationChange", associationType="CONTACT_TO_COMPANY",
                        fromObjectId=201, toObjectId=555, associationRemoved=False,
                        isPrimaryAssociation=True), before)
    assert [(c.entity_id, c.field, c.before, c.after) for c in moved] == [("201", "account_id", "101", "555")]
    secondary = event("deal.associationChange", associationType="COMPANY_TO_DEAL", fromObjectId=555,
                      toObjectId=301, associationRemoved=False, isPrimaryAssociation=False)
    assert parse(secondary, before) == [], "a secondary company does not replace the primary one"
    removed = event("deal.associationChange", associationType="DEAL_TO_COMPANY", fromObjectId=301,
                    toObjectId=101, associationRemoved=True, isPrimaryAssociation=True)
    assert [(c.field, c.before, c.after) for c in parse(removed, before)] == [("account_id", "101", None)]
    other = event("contact.associationChange", associationType="CONTACT_TO_DEAL", fromObjectId=201,
                  toObjectId=301, associationRemoved=False)
    assert parse(other, before) == []


def test_generic_object_subscriptions_use_the_object_type_id() -> None:
    before = snapshot(raw_rows())
    e = {**event("object.propertyChange", propertyName="amount", propertyValue="1000"), "objectTypeId": "0-3"}
    assert [(c.object, c.after) for c in parse(e, before)] == [("opportunities", 1000.0)]


@pytest.mark.parametrize(("e", "message"), [
    (event("contact.merge"), "unsupported HubSpot subscription"),
    (event("ticket.creation"), "unsupported HubSpot subscription"),
    (event("deal.propertyChange", propertyName="amount", propertyValue="lots"), "invalid_value: amount"),
    (event("deal.propertyChange", propertyName="amount", propertyValue="-5"), "absurd_value: amount"),
    (event("deal.propertyChange", propertyName="closedate", propertyValue="soon"), "invalid_value"),
    (event("deal.propertyChange", propertyValue="1"), "propertyName"),
    (event("deal.propertyChange", "abc", propertyName="amount", propertyValue="1"), "numeric object id"),
    (event("deal.associationChange", associationType="DEAL_TO_COMPANY"), "fromObjectId"),
])
def test_malformed_events_raise_the_typed_error_with_the_reason(e: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedEvent, match=message):
        parse(e, snapshot(raw_rows()))


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8)
SUBSCRIPTIONS = st.sampled_from([f"{o}.{a}" for o in ("company", "contact", "deal", "object", "ticket")
                                 for a in ("propertyChange", "creation", "deletion", "associationChange",
                                           "merge")])
PROPERTIES = st.sampled_from(["amount", "closedate", "dealstage", "email", "firstname", "hs_buying_role",
                              "employment_status", "seats", "arr_usd", "domain", "industry", "x"])
IDS = st.one_of(st.integers(), st.text(max_size=25), st.sampled_from([101, 201, 202, 301, "301"]), JSON)


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({"subscriptionType": SUBSCRIPTIONS | JSON}, optional={
    "objectId": IDS, "propertyName": PROPERTIES | JSON, "propertyValue": JSON | st.text(max_size=30),
    "occurredAt": st.integers() | JSON, "objectTypeId": st.sampled_from(["0-1", "0-2", "0-3", "0-5"]) | JSON,
    "associationType": st.sampled_from(["CONTACT_TO_COMPANY", "COMPANY_TO_DEAL", "X"]) | JSON,
    "fromObjectId": IDS, "toObjectId": IDS, "associationRemoved": JSON, "isPrimaryAssociation": JSON}))
def test_the_parser_never_raises_anything_but_its_typed_error(e: dict[str, Any]) -> None:
    try:
        changes = parse(e, CONTEXT)
    except UnsupportedEvent:
        return
    assert all(isinstance(c, FieldChange) and c.tenant == "acme" for c in changes)


CONTEXT = snapshot(raw_rows())
