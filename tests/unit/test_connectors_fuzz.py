"""Whatever a CRM sends, the connector rows plus normalize account for every record: never a crash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.hubspot.rows import base_row, text_frame
from connectors.records import RawSnapshot
from connectors.salesforce.connector import record_row
from perception.mappings_hubspot import HUBSPOT
from perception.mappings_salesforce import SALESFORCE
from perception.normalize import normalize

AT = datetime(2025, 3, 1, tzinfo=UTC)
scalar = st.one_of(st.none(), st.text(max_size=12), st.integers(-10**18, 10**18),
                   st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.sampled_from(["2025-02-30", "1e400", "-5", "Closed Won", "CHAMPION;END_USER", ""]))
props = st.dictionaries(st.sampled_from(["name", "domain", "amount", "dealstage", "revloop.stage_label",
                                         "revloop.account_id", "closedate", "revloop.arr", "weird key"]),
                        scalar, max_size=9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.fixed_dictionaries({"id": scalar, "updatedAt": scalar, "properties": props}), max_size=6))
def test_hubspot_records_are_all_accounted_for(records: list[dict[str, Any]]) -> None:
    frame = text_frame([base_row(r) for r in records])
    snapshot = RawSnapshot("t", "hubspot", AT, {"accounts": frame, "opportunities": frame})
    ns = normalize(snapshot, HUBSPOT)
    for object_ in ("accounts", "opportunities"):
        bad = ns.quarantine.filter(ns.quarantine["object"] == object_).height
        assert ns.table(object_).height + bad == len(records)


nested = st.recursive(scalar, lambda inner: st.dictionaries(st.sampled_from(["Email", "Name", "attributes"]),
                                                            inner, max_size=3), max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.dictionaries(st.sampled_from(["Id", "AccountId", "StageName", "Amount", "Owner",
                                                 "CloseDate", "LastStageChangeDate"]), nested, max_size=7),
                max_size=6))
def test_salesforce_records_are_all_accounted_for(records: list[dict[str, Any]]) -> None:
    frame = text_frame([record_row(r) for r in records])
    ns = normalize(RawSnapshot("t", "salesforce", AT, {"opportunities": frame}), SALESFORCE)
    assert ns.table("opportunities").height + ns.quarantine.height == len(records)
