"""HubSpot v3 signatures: the SDK's own algorithm as known answer, the window, mutations, URI forms."""

from __future__ import annotations

import pytest
from hubspot.utils.signature import Signature

from connectors.webhooks.hubspot import (
    decode_uri,
    hubspot_signed_headers,
    hubspot_v3_signature,
    verify_hubspot_v3,
)
from connectors.webhooks.verify import WebhookVerificationError

CLIENT_SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
SECRET = "hsv3_" + CLIENT_SECRET
URI = "https://revloop.example.com/webhooks/hubspot?tenant=acme"
BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
        b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM"}]')
NOW = 1_700_000_000.0
TS = int(NOW * 1000)


def rejection(headers: dict[str, str], body: bytes = BODY, uri: str = URI, method: str = "POST",
              secrets: list[str] | None = None, now: float = NOW) -> str:
    with pytest.raises(WebhookVerificationError) as caught:
        verify_hubspot_v3(method, uri, headers, body, secrets if secrets is not None else [SECRET], now=now)
    return caught.value.code


def test_the_signature_matches_hubspot_api_clients_algorithm() -> None:
    expected = Signature.get_signature(CLIENT_SECRET, BODY.decode(), "v3", URI, "POST", str(TS))
    assert hubspot_v3_signature(CLIENT_SECRET, "POST", URI, BODY, str(TS)) == expected
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, TS)
    assert verify_hubspot_v3("POST", URI, headers, BODY, [SECRET], now=NOW) == TS


@pytest.mark.parametrize("offset_s", [-299.999, 0, 299.999, -300, 300])
def test_timestamps_within_five_minutes_either_way_are_accepted(offset_s: float) -> None:
    ts = TS + int(offset_s * 1000)
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, ts)
    assert verify_hubspot_v3("POST", URI, headers, BODY, [SECRET], now=NOW) == ts


@pytest.mark.parametrize("offset_s", [-300.001, 300.001, -3600, 86_400])
def test_timestamps_outside_the_window_are_rejected_even_when_signed(offset_s: float) -> None:
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, TS + int(offset_s * 1000))
    assert rejection(headers) == "timestamp_out_of_tolerance"


@pytest.mark.parametrize("raw", ["soon", f"{TS}.0", f"-{TS}", f" {TS}x", "1e12", "9" * 16])
def test_non_integer_millisecond_timestamps_are_invalid(raw: str) -> None:
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, TS)
    headers["x-hubspot-request-timestamp"] = raw
    assert rejection(headers) == "invalid_timestamp"


@pytest.mark.parametrize("name", ["x-hubspot-signature-v3", "x-hubspot-request-timestamp"])
def test_missing_headers_are_rejected(name: str) -> None:
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, TS)
    del headers[name]
    assert rejection(headers) == "missing_header"


def test_any_change_to_method_uri_body_or_secret_is_rejected() -> None:
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", URI, BODY, TS)
    assert rejection(headers, method="PUT") == "no_matching_signature"
    assert rejection(headers, uri=URI.replace("acme", "globex")) == "no_matching_signature"
    assert rejection(headers, uri=URI.replace("https", "http")) == "no_matching_signature"
    assert rejection(headers, body=BODY.replace(b"123", b"124")) == "no_matching_signature"
    assert rejection(headers, secrets=["hsv3_" + CLIENT_SECRET.upper()]) == "no_matching_signature"
    assert rejection(headers, secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]) == "no_matching_signature"
    for i in range(len(BODY)):
        mutated = BODY[:i] + bytes([BODY[i] ^ 1]) + BODY[i + 1:]
        assert rejection(headers, body=mutated) == "no_matching_signature"


def test_rotation_any_active_client_secret_verifies() -> None:
    headers = hubspot_signed_headers("new-client-secret", "POST", URI, BODY, TS)
    assert verify_hubspot_v3("POST", URI, headers, BODY, [SECRET, "hsv3_new-client-secret"], now=NOW) == TS
    assert rejection(headers) == "no_matching_signature"


def test_a_uri_signed_with_hubspots_decoded_characters_verifies() -> None:
    encoded = "https://revloop.example.com/webhooks/hubspot?tenant=acme%3Aeu&x=%28a%29"
    assert decode_uri(encoded) == "https://revloop.example.com/webhooks/hubspot?tenant=acme:eu&x=(a)"
    headers = hubspot_signed_headers(CLIENT_SECRET, "POST", decode_uri(encoded), BODY, TS)
    assert verify_hubspot_v3("POST", encoded, headers, BODY, [SECRET], now=NOW) == TS
    assert decode_uri("%20%3a") == "%20:"  # only HubSpot's listed escapes, any hex case
