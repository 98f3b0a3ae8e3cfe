"""Iceberg table definitions and row validation: what the export accepts, and how it refuses the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pyiceberg.transforms import DayTransform, IdentityTransform

from ledger.tables import TABLES, RowValidationError, table_def, to_arrow, validate_rows

TIME_COLUMNS = {"signals": "observed_at", "proposals": "created_at", "decisions": "decided_at",
                "actions": "executed_at", "outcomes": "observed_at", "ledger_entries": "recorded_at"}


def signal(**overrides: Any) -> dict[str, Any]:
    row = {"tenant": "acme", "signal_id": "sig_1", "account_id": "acc_1", "entity_id": "opp_1",
           "kind": "deal_slipped", "severity": "high", "source": "demo",
           "observed_at": "2025-03-01T10:00:00+00:00"}
    row.update(overrides)
    return row


def test_the_six_tables_exist_with_their_columns() -> None:
    assert set(TABLES) == set(TIME_COLUMNS)
    assert TABLES["proposals"].columns == ("tenant", "proposal_id", "version", "account_id", "action_type",
                                           "risk_tier", "confidence", "status", "created_at")
    assert TABLES["ledger_entries"].columns == ("tenant", "seq", "kind", "actor", "recorded_at",
                                                "entry_hash")


@pytest.mark.parametrize("name", sorted(TIME_COLUMNS))
def test_every_table_is_partitioned_by_tenant_and_day(name: str) -> None:
    definition = TABLES[name]
    fields = definition.partition_spec.fields
    assert [type(f.transform) for f in fields] == [IdentityTransform, DayTransform]
    sources = [definition.schema.find_field(f.source_id).name for f in fields]
    assert sources == ["tenant", TIME_COLUMNS[name]]
    key_ids = [definition.schema.find_field(k).field_id for k in definition.key]
    assert definition.schema.identifier_field_ids == key_ids


def test_iso_strings_and_aware_datetimes_become_the_same_utc_instant() -> None:
    plus_two = timezone(timedelta(hours=2))
    rows = validate_rows(TABLES["signals"], [
        signal(observed_at="2025-03-01T10:00:00Z"),
        signal(observed_at=datetime(2025, 3, 1, 12, 0, tzinfo=plus_two)),
        signal(observed_at="2025-03-01T12:00:00+02:00"),
    ])
    assert {r["observed_at"] for r in rows} == {datetime(2025, 3, 1, 10, 0, tzinfo=UTC)}
    assert all(r["observed_at"].utcoffset() == timedelta(0) for r in rows)


def test_an_optional_column_may_be_left_out() -> None:
    row = signal()
    del row["source"]
    assert to_arrow(TABLES["signals"], [row]).column("source").to_pylist() == [None]


def test_string_enums_are_stored_as_their_value() -> None:
    from enum import StrEnum

    class Kind(StrEnum):
        deal_slipped = "deal_slipped"

    assert validate_rows(TABLES["signals"], [signal(kind=Kind.deal_slipped)])[0]["kind"] == "deal_slipped"


@pytest.mark.parametrize(("overrides", "column", "fragment"), [
    ({"observed_at": "2025-03-01T10:00:00"}, "observed_at", "has no time zone"),
    ({"observed_at": datetime(2025, 3, 1)}, "observed_at", "has no time zone"),
    ({"observed_at": "yesterday"}, "observed_at", "not an ISO-8601 timestamp"),
    ({"observed_at": 1740823200}, "observed_at", "expected a datetime or ISO-8601 string"),
    ({"severity": None}, "severity", "missing a required value"),
    ({"kind": 3}, "kind", "expected a string"),
    ({"observedAt": "2025-03-01T10:00:00Z"}, "observedAt", "unknown column"),
])
def test_a_bad_signal_row_names_table_row_and_column(overrides: dict[str, Any], column: str,
                                                     fragment: str) -> None:
    rows = [signal(signal_id="sig_ok"), signal(signal_id="sig_bad", **overrides)]
    with pytest.raises(RowValidationError) as info:
        validate_rows(TABLES["signals"], rows)
    err = info.value
    assert (err.table, err.row_index, err.column) == ("signals", 1, column)
    assert fragment in str(err)
    assert "sig_bad" in str(err) and "table 'signals', row 1" in str(err)


def test_a_missing_required_column_is_refused() -> None:
    row = signal()
    del row["account_id"]
    with pytest.raises(RowValidationError, match="column 'account_id': missing a required value"):
        validate_rows(TABLES["signals"], [row])


def proposal(**overrides: Any) -> dict[str, Any]:
    row = {"tenant": "acme", "proposal_id": "p1", "version": 1, "account_id": "acc_1",
           "action_type": "crm.create_task", "risk_tier": "L1", "confidence": 0.8, "status": "approved",
           "created_at": "2025-03-01T10:00:00Z"}
    row.update(overrides)
    return row


@pytest.mark.parametrize(("overrides", "column", "fragment"), [
    ({"version": True}, "version", "expected an integer"),
    ({"version": "1"}, "version", "expected an integer"),
    ({"version": 2**31}, "version", "outside the column's range"),
    ({"confidence": "high"}, "confidence", "expected a number"),
    ({"confidence": float("nan")}, "confidence", "not a finite number"),
])
def test_numbers_are_checked(overrides: dict[str, Any], column: str, fragment: str) -> None:
    with pytest.raises(RowValidationError) as info:
        validate_rows(TABLES["proposals"], [proposal(**overrides)])
    assert info.value.column == column and fragment in str(info.value)


def test_an_integer_confidence_is_accepted_as_a_double() -> None:
    assert validate_rows(TABLES["proposals"], [proposal(confidence=1)])[0]["confidence"] == 1.0


def test_decision_stage_must_be_policy_or_review() -> None:
    row = {"tenant": "acme", "decision_id": "d1", "proposal_id": "p1", "stage": "human", "outcome": "approve",
           "actor": "ana", "decided_at": "2025-03-01T10:00:00Z"}
    expected = r"column 'stage': 'human' is not one of \['policy', 'review'\]"
    with pytest.raises(RowValidationError, match=expected):
        validate_rows(TABLES["decisions"], [row])
    assert validate_rows(TABLES["decisions"], [dict(row, stage="review")])[0]["stage"] == "review"


def test_a_row_that_is_not_a_dict_is_refused() -> None:
    with pytest.raises(RowValidationError, match="row 0: expected a dict"):
        validate_rows(TABLES["signals"], [("acme", "sig_1")])  # type: ignore[list-item]


def test_an_unknown_table_lists_the_real_ones() -> None:
    with pytest.raises(ValueError, match="unknown Iceberg table 'signal'; the tables are: signals"):
        table_def("signal")
