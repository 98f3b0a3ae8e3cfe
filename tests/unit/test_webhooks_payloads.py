"""Payload parsers: HubSpot batches dedupe across retries; traceparent is honoured only when valid."""

from __future__ import annotations

import json

import pytest

from connectors.webhooks.payloads import (
    InvalidPayloadError,
    hubspot_events,
    require_json_object,
    trace_id_from,
)

EVENT = {"eventId": 100, "subscriptionId": 7, "portalId": 62515, "occurredAt": 1564113600000,
         "subscriptionType": "deal.propertyChange", "attemptNumber": 0, "objectId": 123,
         "propertyName": "dealstage", "propertyValue": "closedwon"}


def batch(*events: dict[str, object]) -> bytes:
    return json.dumps(list(events)).encode()


def test_a_hubspot_batch_becomes_one_delivery_per_event() -> None:
    other = {**EVENT, "eventId": 101, "objectId": 124}
    events = hubspot_events(batch(EVENT, other))
    assert len(events) == 2 and events[0].delivery_id != events[1].delivery_id
    assert events[0].delivery_id.startswith("hs_100_")
    assert json.loads(events[1].body) == other


def test_a_retried_batch_has_the_same_delivery_ids_despite_a_new_attempt_number() -> None:
    first = hubspot_events(batch(EVENT))
    retry = hubspot_events(json.dumps([{**EVENT, "attemptNumber": 3}], indent=2).encode())
    assert [e.delivery_id for e in first] == [e.delivery_id for e in retry]


def test_events_sharing_an_event_id_but_differing_in_content_are_distinct() -> None:
    [a] = hubspot_events(batch(EVENT))
    [b] = hubspot_events(batch({**EVENT, "propertyValue": "closedlost"}))
    assert a.delivery_id != b.delivery_id


@pytest.mark.parametrize("body", [b"{}", b"[]", b"[1]", b'[{"objectId": 1}]', b'[{"eventId": true}]',
                                  b'[{"eventId": ""}]', b"not json", b"\xff", b'[{"eventId": NaN}]'])
def test_malformed_hubspot_bodies_are_invalid_payloads(body: bytes) -> None:
    with pytest.raises(InvalidPayloadError):
        hubspot_events(body)


def test_require_json_object() -> None:
    assert require_json_object(b'{"a": 1}') == {"a": 1}
    for body in (b"[1]", b"1", b'"x"', b"{", b'{"a": Infinity}'):
        with pytest.raises(InvalidPayloadError):
            require_json_object(body)


def test_a_valid_traceparent_gives_its_trace_id() -> None:
    header = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert trace_id_from(header) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_from("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra") == \
        "4bf92f3577b34da6a3ce929d0e0e4736"  # later versions may append fields


@pytest.mark.parametrize("header", [None, "", "garbage",
                                    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                                    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                                    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                                    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"])
def test_an_absent_or_invalid_traceparent_gets_a_fresh_trace_id(header: str | None) -> None:
    trace_id = trace_id_from(header)
    assert len(trace_id) == 32 and int(trace_id, 16) != 0
    assert trace_id != "4bf92f3577b34da6a3ce929d0e0e4736"
    assert trace_id_from(header) != trace_id
