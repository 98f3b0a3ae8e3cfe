"""How the telemetry feed spells canonical usage (columns as TelemetryConnector emits them).

``account_id`` holds the feed's raw account key (a domain or a CRM account id, said by
``revloop.account_key_type``) until entity resolution maps it onto a CRM account."""

from __future__ import annotations

from perception.mapping_spec import ColumnSpec, ObjectMapping, SourceMapping

_COUNT_MAX = 1e7

TELEMETRY: SourceMapping = {
    "usage": ObjectMapping((
        ColumnSpec("account_id", "revloop.account_key", "id", required=True),
        ColumnSpec("product", "revloop.product", "id", required=True),
        ColumnSpec("day", "revloop.day", "date", required=True),
        ColumnSpec("active_users", "revloop.active_users", "int", required=True, lo=0, hi=_COUNT_MAX),
        ColumnSpec("seats_used", "revloop.seats_used", "int", required=True, lo=0, hi=_COUNT_MAX),
    ), derived_key=("account_id", "product", "day")),
}
