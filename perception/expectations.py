"""Great Expectations (1.x) suites for the canonical tables, run in an ephemeral in-memory context.

`import great_expectations` takes seconds, so it happens inside `validate_table`, never at import.
Each failing expectation names the tenants whose rows fail it (`failing_tenants`), so a quality gate
can hold back one tenant's data without stopping the others."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from perception.schemas import (
    ACTIVITY_TYPES,
    CONTACT_STATUSES,
    DIRECTIONS,
    KEYS,
    ROLES,
    SCHEMAS,
    STAGES,
)

SEATS_SANE_MAX = 1_000_000
USERS_SANE_MAX = 1_000_000


@dataclass(frozen=True)
class ExpectationOutcome:
    name: str  # e.g. expect_column_values_to_not_be_null(account_id)
    success: bool
    observed_value: Any = None
    unexpected_count: int | None = None
    failing_tenants: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class QualityReport:
    object: str
    success: bool
    rows: int
    results: list[ExpectationOutcome]
    failing_tenants: list[str]


def _specs(object_: str) -> list[tuple[str, dict[str, Any]]]:
    """(expectation class name, kwargs) for a canonical table."""
    key = KEYS[object_]
    specs: list[tuple[str, dict[str, Any]]] = [
        ("ExpectColumnValuesToNotBeNull", {"column": "tenant"}),
        ("ExpectColumnValuesToNotBeNull", {"column": key}),
        ("ExpectColumnValuesToNotBeNull", {"column": "account_id"}),
        ("ExpectCompoundColumnsToBeUnique", {"column_list": ["tenant", key]}),
    ]
    if object_ == "accounts":
        specs += [("ExpectColumnValuesToBeBetween", {"column": "arr", "min_value": 0}),
                  ("ExpectColumnValuesToBeBetween", {"column": "seats_licensed", "min_value": 0,
                                                     "max_value": SEATS_SANE_MAX}),
                  ("ExpectColumnValuesToMatchStrftimeFormat", {"column": "renewal_date",
                                                               "strftime_format": "%Y-%m-%d"})]
    elif object_ == "contacts":
        specs += [("ExpectColumnValuesToBeInSet", {"column": "role", "value_set": list(ROLES)}),
                  ("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": list(CONTACT_STATUSES)})]
    elif object_ == "opportunities":
        specs += [("ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0}),
                  ("ExpectColumnValuesToBeInSet", {"column": "stage", "value_set": list(STAGES)}),
                  ("ExpectColumnValuesToMatchStrftimeFormat", {"column": "close_date",
                                                               "strftime_format": "%Y-%m-%d"})]
    elif object_ == "activities":
        specs += [("ExpectColumnValuesToBeInSet", {"column": "type", "value_set": list(ACTIVITY_TYPES)}),
                  ("ExpectColumnValuesToBeInSet", {"column": "direction", "value_set": list(DIRECTIONS)}),
                  ("ExpectColumnValuesToNotBeNull", {"column": "occurred_on"}),
                  ("ExpectColumnValuesToMatchStrftimeFormat", {"column": "occurred_on",
                                                               "strftime_format": "%Y-%m-%d"})]
    elif object_ == "usage":
        specs += [("ExpectColumnValuesToBeBetween", {"column": "active_users", "min_value": 0,
                                                     "max_value": USERS_SANE_MAX}),
                  ("ExpectColumnValuesToBeBetween", {"column": "seats_used", "min_value": 0,
                                                     "max_value": SEATS_SANE_MAX}),
                  ("ExpectColumnValuesToMatchStrftimeFormat", {"column": "day",
                                                               "strftime_format": "%Y-%m-%d"})]
    return specs


def _to_pandas(df: pl.DataFrame) -> Any:
    # Dates go in as ISO text so the strftime expectations check what a downstream reader parses.
    return df.with_columns(
        [pl.col(c).dt.to_string("%Y-%m-%d") for c, t in df.schema.items() if t == pl.Date]
        + [pl.col(c).cast(pl.String) for c, t in df.schema.items() if t == pl.Datetime]
    ).to_pandas()


def validate_table(object: str, df: pl.DataFrame) -> QualityReport:
    """Run the canonical table's suite over `df`; `df` may hold several tenants' rows."""
    if object not in SCHEMAS:
        raise ValueError(f"no expectation suite for {object!r}; known: {sorted(SCHEMAS)}")
    if df.width == 0:  # no snapshot yet: validate an empty canonical table
        df = pl.DataFrame(schema=SCHEMAS[object])
    missing = [c for c in ("tenant", KEYS[object], "account_id") if c not in df.columns]
    if missing:
        raise ValueError(f"{object} frame lacks columns {missing}; normalize it first")
    import great_expectations as gx
    import great_expectations.expectations as gxe
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    context = gx.get_context(mode="ephemeral", project_config=DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(), analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False)))
    batch = context.data_sources.add_pandas("revloop").add_dataframe_asset(object) \
        .add_batch_definition_whole_dataframe("whole") \
        .get_batch(batch_parameters={"dataframe": _to_pandas(df)})
    specs = [(name, kwargs) for name, kwargs in _specs(object)
             if all(c in df.columns for c in kwargs.get("column_list", [kwargs.get("column")]))]
    suite = gx.ExpectationSuite(name=f"revloop.{object}",
                                expectations=[getattr(gxe, name)(**kwargs) for name, kwargs in specs])
    result = batch.validate(suite, result_format={"result_format": "COMPLETE",
                                                  "unexpected_index_column_names": ["tenant"]})
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        target = config.kwargs.get("column") or ",".join(config.kwargs.get("column_list", []))
        found = item.result or {}
        tenants = sorted({str(row["tenant"]) for row in found.get("unexpected_index_list") or []
                          if isinstance(row, dict) and row.get("tenant") is not None})
        outcomes.append(ExpectationOutcome(
            name=f"{config.type}({target})", success=bool(item.success),
            observed_value=found.get("observed_value"), unexpected_count=found.get("unexpected_count"),
            failing_tenants=tenants))
    failing = sorted({t for o in outcomes for t in o.failing_tenants})
    return QualityReport(object=object, success=bool(result.success), rows=df.height, results=outcomes,
                         failing_tenants=failing)
