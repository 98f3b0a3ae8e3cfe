"""RELIABILITY 21 for the signal extractor: whatever a demo-source webhook event holds, the event
parser and the CRM rules return field changes and signals or raise the declared error (the webhook
stage dead-letters on UnsupportedEvent and ValueError). Never anything else.
The HubSpot parser has its own run in test_webhooks_hubspot_events.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perception.signals import signals_from_changes
from perception.webhook_events import EVENT_OBJECTS, EVENT_TYPE, changes_from_webhook_event
from tests.unit.test_webhooks_hubspot_events import raw_rows, snapshot

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CONTEXT = snapshot(raw_rows())  # tenant "acme": accounts, contacts and deals the rules can look up

values = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                   st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
                   st.sampled_from(["2026-03-31", "2026-06-30", "2026-02-30", "2026-03-31T00:00:00Z",
                                    "negotiation", "qualification", "proposal", "closed_won", "Closed Won",
                                    "active", "departed", "CHAMPION", "80000", "40000", "-5", "1e400", "50",
                                    "10", ""]))
# The fields the CRM rules read (plus one they do not), on records the context snapshot holds.
fields = st.sampled_from(["stage", "close_date", "amount", "status", "seats_licensed", "arr", "nonsense"])
records = st.sampled_from([("opportunities", "301"), ("contacts", "201"), ("accounts", "101"),
                           ("opportunities", "999")])
# Mostly values of the field's own kind, so the rules get past parsing and raise signals too.
typed = {"close_date": st.sampled_from(["2026-03-31", "2026-04-15", "2026-06-30", "2027-01-01",
                                        "2026-02-30"]),
         "stage": st.sampled_from(["qualification", "discovery", "proposal", "negotiation", "closed_won",
                                   "closed_lost", "Contract Sent", "nonsense"]),
         "amount": st.one_of(st.integers(-10, 10**7), st.sampled_from(["80000", "40000", "0", "-5"])),
         "status": st.sampled_from(["active", "departed", "left", "unknown"]),
         "seats_licensed": st.one_of(st.integers(-5, 500), st.sampled_from(["50", "10", "x"])),
         "arr": st.integers(0, 10**6), "nonsense": values}
changes = st.fixed_dictionaries({}, optional={
    field: st.fixed_dictionaries({"before": kind, "after": kind}) | st.fixed_dictionaries(
        {"before": kind | values, "after": kind | values})
    for field, kind in typed.items()}).filter(bool)
well_formed = st.builds(
    lambda record, changes, account: {"type": EVENT_TYPE, "object": record[0], "record_id": record[1],
                                      "changes": changes, **account},
    records, changes, st.sampled_from([{}, {"account_id": "101"}, {"account_id": "102"}]))
anything = st.dictionaries(st.sampled_from(["type", "object", "record_id", "account_id", "changes"]),
                           st.one_of(values, st.sampled_from([EVENT_TYPE, *EVENT_OBJECTS]),
                                     st.dictionaries(fields, st.one_of(values, st.dictionaries(
                                         st.sampled_from(["before", "after", "x"]), values)), max_size=2)),
                           max_size=5)


def test_any_demo_event_yields_signals_or_the_declared_error() -> None:
    raised: dict[str, int] = {}

    @settings(max_examples=500, deadline=None, database=None)
    @given(event=well_formed | well_formed | anything, with_context=st.booleans())
    def fuzz(event: dict[str, Any], with_context: bool) -> None:
        context = CONTEXT if with_context else None
        try:
            changes = changes_from_webhook_event("acme", event, source="demo", context=context)
            signals = signals_from_changes("acme", "demo", AT, changes, context=context)
        except ValueError:  # UnsupportedEvent is one; the webhook stage dead-letters both, with the message
            return
        assert all(s.tenant == "acme" and s.source == "demo" for s in signals)
        assert len({s.signal_id for s in signals}) == len(signals)
        for s in signals:
            raised[str(s.kind)] = raised.get(str(s.kind), 0) + 1

    fuzz()
    # The run is worth something only if events get through to the rules (about 5 % raise signals).
    assert len(raised) >= 2, raised
