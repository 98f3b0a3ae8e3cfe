"""normalize: canonical tables from raw records; every malformed record quarantined with its reason."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest

from connectors.demo.connector import DemoConnector
from connectors.demo.world import DemoWorld
from connectors.records import RawSnapshot
from perception.normalize import UnknownSource, normalize
from perception.schemas import SCHEMAS
from perception.snapshot_store import NormalizedSnapshotStore

AT = datetime(2026, 1, 2, 23, 59, 59, tzinfo=UTC)


def _raw(**objects: list[dict]) -> RawSnapshot:
    frames = {name: pl.DataFrame([{k: (v if v is None or isinstance(v, str) else json.dumps(v))
                                   for k, v in row.items()} for row in rows])
              for name, rows in objects.items()}
    return RawSnapshot("acme", "demo", AT, frames)


GOOD_OPP = {"Id": "o1", "AccountId": "a1", "Name": "Deal", "StageName": "Proposal/Price Quote",
            "Amount": 1200.5, "CloseDate": "2026-03-01", "OwnerEmail": "Rep@Acme.example"}


@pytest.mark.parametrize(("bad", "reason"), [
    ({"Id": None}, "missing_id"),
    ({"AccountId": None}, "missing_id"),
    ({"Amount": "TBD"}, "invalid_type: amount is not a number"),
    ({"CloseDate": "next quarter"}, "invalid_type: close_date is not a YYYY-MM-DD date"),
    ({"Amount": -1e13}, "absurd_value: amount"),
    ({"StageName": "Won-ish"}, "invalid_value: stage"),
])
def test_each_malformed_kind_is_quarantined_with_a_reason(bad: dict, reason: str) -> None:
    record = {**GOOD_OPP, "Id": "o2", **bad}
    ns = normalize(_raw(opportunities=[GOOD_OPP, record]))
    opps = ns.tables["opportunities"]
    assert opps["opportunity_id"].to_list() == ["o1"]
    assert ns.quarantine.height == 1
    row = ns.quarantine.row(0, named=True)
    assert row["object"] == "opportunities" and row["tenant"] == "acme"
    assert row["reason"].startswith(reason)
    assert json.loads(row["record"])["Name"] == "Deal"  # the raw record, kept for inspection


def test_duplicate_keys_keep_the_first_and_quarantine_the_rest() -> None:
    ns = normalize(_raw(opportunities=[GOOD_OPP, {**GOOD_OPP, "Name": "Again"}, {**GOOD_OPP, "Name": "3rd"}]))
    assert ns.tables["opportunities"]["name"].to_list() == ["Deal"]
    assert ns.quarantine["reason"].str.starts_with("duplicate_key").all()
    assert ns.quarantine["entity_id"].to_list() == ["o1", "o1"]


def test_values_are_mapped_to_canonical_form() -> None:
    ns = normalize(_raw(
        opportunities=[GOOD_OPP],
        accounts=[{"Id": "a1", "Name": "Blue", "Website": "https://www.Blue.example/about",
                   "Industry": "Financial Services", "OwnerEmail": "x@y.example",
                   "AnnualRecurringRevenue": 1000, "SeatsLicensed__c": "40", "RenewalDate__c": "2026-07-01"}],
        contacts=[{"Id": "c1", "AccountId": "a1", "FirstName": "Ana", "LastName": "Diaz",
                   "Role__c": "End User", "Status__c": "No Longer at Company"}],
    ))
    opp = ns.tables["opportunities"].row(0, named=True)
    assert (opp["stage"], opp["amount"], opp["close_date"], opp["owner_email"]) == \
        ("proposal", 1200.5, date(2026, 3, 1), "rep@acme.example")
    account = ns.tables["accounts"].row(0, named=True)
    assert (account["domain"], account["industry"], account["seats_licensed"]) == \
        ("blue.example", "financial_services", 40)
    contact = ns.tables["contacts"].row(0, named=True)
    assert (contact["name"], contact["role"], contact["status"]) == ("Ana Diaz", "user", "departed")
    for name, frame in ns.tables.items():
        assert frame.schema == SCHEMAS[name]


def test_demo_export_with_corruption_conserves_every_row(tmp_path: Path) -> None:
    world = DemoWorld.create(tmp_path, ["acme"], 80, 5, 0.0, corruption_rate=0.05)
    world.advance_day()
    raw = DemoConnector(tmp_path).pull("acme")
    ns = normalize(raw)
    assert ns.quarantine.height > 0
    for name in ("accounts", "contacts", "opportunities", "usage"):
        quarantined = ns.quarantine.filter(pl.col("object") == name).height
        assert ns.tables[name].height + quarantined == raw.objects[name].height, name
    assert ns.quarantine["reason"].null_count() == 0
    reasons = set(ns.quarantine["reason"].str.split(":").list.first())
    assert {"missing_id", "duplicate_key", "invalid_type", "absurd_value"} <= reasons


def test_unknown_source_is_refused() -> None:
    with pytest.raises(UnknownSource, match="no normalization mapping"):
        normalize(RawSnapshot("acme", "salesforce-ish", AT, {}))


def test_snapshot_store_latest_and_previous(tmp_path: Path) -> None:
    store = NormalizedSnapshotStore(tmp_path)
    assert store.latest("acme") is None
    first = normalize(_raw(opportunities=[GOOD_OPP]))
    second_raw = _raw(opportunities=[{**GOOD_OPP, "Amount": 99.0}], accounts=[{"Id": None}])
    second = normalize(RawSnapshot("acme", "demo", datetime(2026, 1, 3, 23, 59, 59, tzinfo=UTC),
                                   second_raw.objects))
    store.write(first)
    store.write(second)
    store.write(second)  # rewriting is allowed and leaves one copy
    assert store.list("acme") == [first.pulled_at, second.pulled_at]
    latest = store.latest("acme")
    assert latest is not None and latest.tables["opportunities"]["amount"].to_list() == [99.0]
    assert latest.quarantine.height == 1
    previous = store.previous("acme", before=second.pulled_at)
    assert previous is not None and previous.pulled_at == first.pulled_at
    assert store.previous("acme", before=first.pulled_at) is None
    assert store.latest("globex") is None


def test_rows_without_a_single_field_are_quarantined_not_crashed_on() -> None:
    from perception.mappings import DEMO
    from perception.normalize import normalize_object

    good, bad = normalize_object("acme", "accounts", pl.DataFrame([{}, {}]), DEMO["accounts"])

    assert good.height == 0
    assert bad["reason"].to_list() == ["missing_id", "missing_id"]
