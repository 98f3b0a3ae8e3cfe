"""HubSpot v3 request signatures (``X-HubSpot-Signature-v3``) as pure functions.

Signed content: HTTP method + full request URI + raw body + ``X-HubSpot-Request-Timestamp`` (Unix
milliseconds), HMAC-SHA256 keyed by the app's client secret (UTF-8), base64 -- the algorithm of
hubspot-api-client's ``Signature.get_signature(..., "v3")``. HubSpot's guide also asks receivers to
decode a fixed set of percent-escapes in the URI, so the URI is tried as received and so decoded.
Requests more than 5 minutes away from the receiver's clock (either way) are refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence

from connectors.webhooks.verify import WebhookVerificationError, header, matches_any

HEADER_SIGNATURE_V3 = "x-hubspot-signature-v3"
HEADER_REQUEST_TIMESTAMP = "x-hubspot-request-timestamp"
HUBSPOT_SECRET_PREFIX = "hsv3_"
TOLERANCE_MS = 300_000

_MILLIS = re.compile(r"[0-9]{1,15}", re.ASCII)
_DECODED_IN_URI = {"%3A": ":", "%2F": "/", "%3F": "?", "%40": "@", "%21": "!", "%24": "$", "%27": "'",
                   "%28": "(", "%29": ")", "%2A": "*", "%2C": ",", "%3B": ";"}
_ESCAPE = re.compile("|".join(_DECODED_IN_URI), re.IGNORECASE)


def is_hubspot_secret(secret: str) -> bool:
    return secret.startswith(HUBSPOT_SECRET_PREFIX) and len(secret) > len(HUBSPOT_SECRET_PREFIX)


def client_secret_of(secret: str) -> str:
    """The app client secret inside a stored ``hsv3_<client secret>`` value."""
    return secret.removeprefix(HUBSPOT_SECRET_PREFIX)


def decode_uri(uri: str) -> str:
    return _ESCAPE.sub(lambda match: _DECODED_IN_URI[match.group(0).upper()], uri)


def hubspot_v3_signature(client_secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    content = f"{method}{uri}".encode() + body + timestamp.encode("ascii")
    digest = hmac.new(client_secret.encode("utf-8"), content, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def hubspot_signed_headers(client_secret: str, method: str, uri: str, body: bytes,
                           timestamp_ms: int) -> dict[str, str]:
    """The headers HubSpot sends with a v3-signed request (for tests and local senders)."""
    timestamp = str(timestamp_ms)
    return {HEADER_SIGNATURE_V3: hubspot_v3_signature(client_secret, method, uri, body, timestamp),
            HEADER_REQUEST_TIMESTAMP: timestamp}


def verify_hubspot_v3(method: str, uri: str, headers: Mapping[str, str], body: bytes,
                      secrets: Sequence[str], now: float | None = None) -> int:
    """Verify a HubSpot v3 request against any ``hsv3_`` secret; returns its timestamp (ms)."""
    signature = header(headers, HEADER_SIGNATURE_V3)
    raw_timestamp = header(headers, HEADER_REQUEST_TIMESTAMP)
    for name, value in ((HEADER_SIGNATURE_V3, signature), (HEADER_REQUEST_TIMESTAMP, raw_timestamp)):
        if value is None or not value.strip():
            raise WebhookVerificationError("missing_header", f"header '{name}' is missing or empty")
    assert signature is not None and raw_timestamp is not None
    if not _MILLIS.fullmatch(raw_timestamp):
        raise WebhookVerificationError("invalid_timestamp", f"header '{HEADER_REQUEST_TIMESTAMP}' must "
                                       "be integer Unix milliseconds")
    timestamp = int(raw_timestamp)
    now_ms = int((time.time() if now is None else now) * 1000)
    if abs(now_ms - timestamp) > TOLERANCE_MS:
        raise WebhookVerificationError(
            "timestamp_out_of_tolerance",
            f"request timestamp is {(timestamp - now_ms) / 1000:+.3f} s from the receiver's clock; the "
            "limit is ±300 s")
    uris = dict.fromkeys([uri, decode_uri(uri)])
    candidates = [signature.strip()] if signature.strip().isascii() else []
    for secret in secrets:
        if not is_hubspot_secret(secret):
            continue
        for candidate_uri in uris:
            expected = hubspot_v3_signature(client_secret_of(secret), method, candidate_uri, body,
                                            raw_timestamp)
            if matches_any(expected, candidates):
                return timestamp
    raise WebhookVerificationError(
        "no_matching_signature",
        "'X-HubSpot-Signature-v3' does not match the method, URI, raw body and timestamp under this "
        "tenant's HubSpot app secrets")
