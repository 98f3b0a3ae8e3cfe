"""Standard Webhooks v1 signature verification (https://www.standardwebhooks.com), as pure functions.

Receiver order (shared/RELIABILITY.md): the three headers present -> timestamp an integer within the
tolerance both ways -> HMAC-SHA256 over ``{id}.{timestamp}.{body}`` keyed by the base64-decoded secret
after ``whsec_`` -> constant-time compare against each space-separated ``v1,<base64>`` signature."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

HEADER_ID = "webhook-id"
HEADER_TIMESTAMP = "webhook-timestamp"
HEADER_SIGNATURE = "webhook-signature"
SECRET_PREFIX = "whsec_"
TOLERANCE_SECONDS = 300
SIGNATURE_VERSION = "v1"

VerificationCode = Literal[
    "missing_header", "invalid_timestamp", "timestamp_out_of_tolerance", "no_matching_signature"
]

# ASCII digits only: int() would also take " 12", "+12", "1_2" and non-ASCII digits.
_TIMESTAMP = re.compile(r"[0-9]{1,12}", re.ASCII)


class WebhookVerificationError(Exception):
    """A delivery failed verification; ``code`` says which step rejected it."""

    def __init__(self, code: VerificationCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: VerificationCode = code
        self.message = message


class InvalidWebhookSecretError(ValueError):
    """A configured secret is not ``whsec_<base64>``; the message never contains the secret."""


@dataclass(frozen=True)
class VerifiedDelivery:
    delivery_id: str
    timestamp: int


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_<base64>`` secret."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise InvalidWebhookSecretError(
            "webhook secret is not 'whsec_' followed by base64; regenerate it with "
            "WebhookSecretStore.rotate()") from None
    if not key:
        raise InvalidWebhookSecretError("webhook secret is empty; regenerate it with rotate()")
    return key


def signed_content(delivery_id: str, timestamp: int | str, body: bytes) -> bytes:
    return f"{delivery_id}.{timestamp}.".encode() + body


def sign(secret: str, delivery_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature a Standard Webhooks sender puts in ``webhook-signature``."""
    digest = _signature(secret_key(secret), signed_content(delivery_id, timestamp, body))
    return f"{SIGNATURE_VERSION},{digest}"


def _signature(key: bytes, content: bytes) -> str:
    return base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode("ascii")


def signed_headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of a signed delivery (for senders and tests)."""
    return {HEADER_ID: delivery_id, HEADER_TIMESTAMP: str(timestamp),
            HEADER_SIGNATURE: sign(secret, delivery_id, timestamp, body)}


def header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive lookup that works on plain dicts as well as HTTP header mappings."""
    value = headers.get(name)
    if value is None:
        value = {key.lower(): v for key, v in headers.items()}.get(name)
    return value


def require_headers(headers: Mapping[str, str]) -> tuple[str, str, str]:
    values = []
    for name in (HEADER_ID, HEADER_TIMESTAMP, HEADER_SIGNATURE):
        value = header(headers, name)
        if value is None or not value.strip():
            raise WebhookVerificationError("missing_header", f"header '{name}' is missing or empty")
        values.append(value)
    return values[0], values[1], values[2]


def parse_timestamp(raw: str) -> int:
    if not _TIMESTAMP.fullmatch(raw):
        raise WebhookVerificationError(
            "invalid_timestamp", f"header '{HEADER_TIMESTAMP}' must be integer Unix seconds")
    return int(raw)


def check_tolerance(timestamp: int, now: int, tolerance: int = TOLERANCE_SECONDS) -> None:
    if abs(now - timestamp) > tolerance:
        raise WebhookVerificationError(
            "timestamp_out_of_tolerance",
            f"timestamp is {timestamp - now:+d} s from the receiver's clock; the limit is "
            f"±{tolerance} s (check the sender's clock, re-sign retries with a fresh timestamp)")


def v1_signatures(raw: str) -> Iterator[str]:
    """The base64 parts of the ``v1,`` entries; other versions are ignored."""
    for entry in raw.split():
        value = entry.partition(",")[2]
        if entry.startswith(f"{SIGNATURE_VERSION},") and value and value.isascii():
            yield value


def matches_any(expected: str, candidates: Sequence[str]) -> bool:
    # Compare the base64 text, not decoded bytes: non-canonical padding bits would decode equal.
    want = expected.encode("ascii")
    found = False
    for candidate in candidates:
        found |= hmac.compare_digest(want, candidate.encode("ascii"))
    return found


def verify(headers: Mapping[str, str], body: bytes, secrets: Sequence[str],
           now: int | None = None) -> VerifiedDelivery:
    """Verify one delivery against any of ``secrets`` (several during rotation); raise on failure."""
    delivery_id, raw_timestamp, raw_signatures = require_headers(headers)
    timestamp = parse_timestamp(raw_timestamp)
    check_tolerance(timestamp, int(time.time()) if now is None else now)
    candidates = list(v1_signatures(raw_signatures))
    for secret in secrets:
        expected = _signature(secret_key(secret), signed_content(delivery_id, raw_timestamp, body))
        if matches_any(expected, candidates):
            return VerifiedDelivery(delivery_id=delivery_id, timestamp=timestamp)
    raise WebhookVerificationError(
        "no_matching_signature",
        "no 'v1,' signature in 'webhook-signature' matches the raw body under the active "
        "secrets (sign the exact bytes sent, with the secret issued for this tenant)")
