"""Saved outcome queries are discoverable with a description, and results print as a readable table."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from ledger.analysis import format_table, get_query, list_queries


def test_the_saved_queries_are_listed_with_descriptions() -> None:
    queries = list_queries()
    assert [q.name for q in queries] == ["approval_rate_by_action_type", "loop_counts",
                                         "policy_denials_by_reason", "signal_to_outcome", "signals_by_kind",
                                         "win_churn_by_action"]
    for q in queries:
        assert q.description and not q.description.startswith("-")
        assert q.sql.lstrip().startswith("--")
    assert get_query("signals_by_kind").description.startswith("Per tenant and signal kind")


def test_queries_know_their_tables_and_parameters() -> None:
    assert get_query("signals_by_kind").tables == ("signals",)
    assert set(get_query("approval_rate_by_action_type").tables) == {"proposals", "decisions"}
    assert set(get_query("loop_counts").tables) == {"signals", "proposals", "actions", "ledger_entries"}
    assert set(get_query("signal_to_outcome").tables) == {"signals", "outcomes"}
    assert get_query("policy_denials_by_reason").tables == ("decisions",)
    assert all(q.params == ("tenant",) for q in list_queries())


def test_an_unknown_query_names_the_saved_ones() -> None:
    with pytest.raises(ValueError, match="no saved query named 'nope'; the saved queries are: approval_rate"):
        get_query("nope")


def test_format_table_aligns_columns_and_counts_rows() -> None:
    t = pa.table({
        "tenant": ["acme", "globex"],
        "signals": pa.array([12, 3], pa.int64()),
        "rate": [0.5, None],
        "at": pa.array([datetime(2025, 3, 1, 10, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
    })
    lines = format_table(t).splitlines()
    assert lines[0].split() == ["tenant", "signals", "rate", "at"]
    assert set(lines[1].replace(" ", "")) == {"-"}
    assert lines[2].split() == ["acme", "12", "0.500", "2025-03-01", "10:00:00+00:00"]
    assert lines[3].split() == ["globex", "3"]
    assert lines[2].index("12") + 1 == lines[3].index("3")  # numbers right-aligned
    assert lines[-1] == "(2 rows)"


def test_format_table_of_nothing_still_shows_the_columns() -> None:
    text = format_table(pa.table({"tenant": pa.array([], pa.string())}))
    assert text.splitlines() == ["tenant", "------", "(0 rows)"]
