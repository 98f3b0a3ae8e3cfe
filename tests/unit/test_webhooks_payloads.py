"""Payload parsers: HubSpot batches dedupe across retries; bodies must be JSON objects."""

from __future__ import annotations

import json

import pytest

from connectors.webhooks.payloads import (
    InvalidPayloadError,
    hubspot_events,
    require_json_object,
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
