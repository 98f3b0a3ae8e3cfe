"""Hypothesis over the verifiers and payload parsers (RELIABILITY 21): every mutation of a signed
delivery is rejected, and arbitrary input only ever yields the declared errors."""

from __future__ import annotations

import base64
import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.webhooks.hubspot import hubspot_signed_headers, verify_hubspot_v3
from connectors.webhooks.payloads import (
    InvalidPayloadError,
    hubspot_events,
    require_json_object,
)
from connectors.webhooks.tracing import WebhookTracer
from connectors.webhooks.verify import WebhookVerificationError, signed_headers, verify

NOW = 1_700_000_000
ids = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)
secrets = st.binary(min_size=1, max_size=64).map(lambda k: "whsec_" + base64.b64encode(k).decode())
header_text = st.text(st.characters(codec="latin-1"), max_size=80)


def flip(value: bytes, position: int, mask: int) -> bytes:
    index = position % len(value)
    return value[:index] + bytes([value[index] ^ mask]) + value[index + 1:]


@settings(max_examples=400)
@given(body=st.binary(max_size=300), delivery_id=ids, offset=st.integers(-300, 300), secret=secrets,
       field=st.sampled_from(["body", "webhook-id", "webhook-timestamp", "webhook-signature", "secret"]),
       position=st.integers(0, 10_000), mask=st.integers(1, 255))
def test_any_one_byte_mutation_of_a_signed_delivery_is_rejected(
        body: bytes, delivery_id: str, offset: int, secret: str, field: str, position: int,
        mask: int) -> None:
    headers = signed_headers(secret, delivery_id, NOW + offset, body)
    assert verify(headers, body, [secret], now=NOW).delivery_id == delivery_id
    active = [secret]
    if field == "body":
        body = flip(body, position, mask) if body else b"x"
    elif field == "secret":
        key = base64.b64decode(secret.removeprefix("whsec_"))
        active = ["whsec_" + base64.b64encode(flip(key, position, mask)).decode()]
    else:
        headers[field] = flip(headers[field].encode("latin-1"), position, mask).decode("latin-1")
    try:
        verify(headers, body, active, now=NOW)
    except WebhookVerificationError:
        return
    raise AssertionError(f"a mutated {field} was accepted")


@settings(max_examples=400)
@given(headers=st.dictionaries(st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature",
                                                "Webhook-Signature", "other"]), header_text),
       body=st.binary(max_size=200), secret=secrets)
def test_arbitrary_headers_and_bodies_only_raise_verification_errors(
        headers: dict[str, str], body: bytes, secret: str) -> None:
    try:
        verify(headers, body, [secret], now=NOW)
    except WebhookVerificationError as exc:
        assert exc.code in {"missing_header", "invalid_timestamp", "timestamp_out_of_tolerance",
                            "no_matching_signature"}
        return
    raise AssertionError("an unsigned delivery verified")


@settings(max_examples=300)
@given(body=st.binary(max_size=200), client_secret=st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                                           min_size=8, max_size=40),
       field=st.sampled_from(["body", "uri", "method", "timestamp", "signature"]),
       position=st.integers(0, 10_000), mask=st.integers(1, 127))
def test_any_mutation_of_a_hubspot_v3_request_is_rejected(body: bytes, client_secret: str, field: str,
                                                          position: int, mask: int) -> None:
    uri, method = "https://revloop.example.com/webhooks/hubspot?tenant=acme", "POST"
    headers = hubspot_signed_headers(client_secret, method, uri, body, NOW * 1000)
    secrets_ = ["hsv3_" + client_secret]
    assert verify_hubspot_v3(method, uri, headers, body, secrets_, now=NOW) == NOW * 1000
    if field == "body":
        body = flip(body, position, mask) if body else b"x"
    elif field == "uri":
        uri = flip(uri.encode(), position, mask).decode("latin-1")
    elif field == "method":
        method = flip(method.encode(), position, mask).decode("latin-1")
    else:
        name = "x-hubspot-request-timestamp" if field == "timestamp" else "x-hubspot-signature-v3"
        headers[name] = flip(headers[name].encode(), position, mask).decode("latin-1")
    try:
        verify_hubspot_v3(method, uri, headers, body, secrets_, now=NOW)
    except WebhookVerificationError:
        return
    raise AssertionError(f"a mutated {field} was accepted")


@settings(max_examples=500)
@given(body=st.binary(max_size=300) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
).map(lambda value: json.dumps(value).encode()))
def test_payload_parsers_return_a_value_or_the_declared_error(body: bytes) -> None:
    for parse in (hubspot_events, require_json_object):
        try:
            parse(body)
        except InvalidPayloadError:
            pass


event = st.fixed_dictionaries(
    {"eventId": st.integers(1, 10**12), "objectId": st.integers(1, 10**9),
     "attemptNumber": st.integers(0, 9)},
    optional={"propertyValue": st.text(max_size=20), "portalId": st.integers(1, 10**6)})


@settings(max_examples=200)
@given(events=st.lists(event, min_size=1, max_size=20), retry_attempt=st.integers(0, 9))
def test_hubspot_delivery_ids_are_stable_across_retries_and_distinct_for_distinct_events(
        events: list[dict[str, object]], retry_attempt: int) -> None:
    first = hubspot_events(json.dumps(events).encode())
    retried = hubspot_events(json.dumps([{**e, "attemptNumber": retry_attempt} for e in events]).encode())
    assert [e.delivery_id for e in first] == [e.delivery_id for e in retried]
    distinct = {json.dumps({k: v for k, v in e.items() if k != "attemptNumber"}, sort_keys=True)
                for e in events}
    assert len({e.delivery_id for e in first}) == len(distinct)


@given(header=st.text(max_size=120))
def test_any_traceparent_yields_a_valid_trace_id(header: str) -> None:
    with WebhookTracer().request_span({"traceparent": header}, "demo", "acme") as span:
        trace_id = span.trace_id
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id) and int(trace_id, 16) != 0
