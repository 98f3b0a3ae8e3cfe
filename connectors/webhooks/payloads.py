"""Parsers for verified webhook bodies.

Each parser either returns a value or raises :class:`InvalidPayloadError`; nothing else escapes, which
the hypothesis tests check on arbitrary bytes."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

MAX_DELIVERY_ID_CHARS = 256
MAX_HUBSPOT_EVENTS = 1000



class InvalidPayloadError(ValueError):
    """A verified body is not what its source sends; the message says what was expected."""


@dataclass(frozen=True)
class HubSpotEvent:
    delivery_id: str
    body: bytes


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise InvalidPayloadError("the body must be UTF-8 JSON") from None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def require_json_object(body: bytes) -> dict[str, Any]:
    value = parse_json(body)
    if not isinstance(value, dict):
        raise InvalidPayloadError("the body must be a UTF-8 JSON object")
    return value


def usable_delivery_id(delivery_id: str) -> bool:
    return (0 < len(delivery_id) <= MAX_DELIVERY_ID_CHARS and delivery_id.isascii()
            and delivery_id.isprintable())


def hubspot_events(body: bytes) -> list[HubSpotEvent]:
    """Split a HubSpot webhook batch (a JSON array of event objects) into inbox deliveries.

    HubSpot sends no delivery id and bumps ``attemptNumber`` on every retry, so an event's id is
    its ``eventId`` plus a digest of the event without ``attemptNumber``: a retried batch dedupes."""
    value = parse_json(body)
    if not isinstance(value, list) or not value:
        raise InvalidPayloadError("a HubSpot webhook body must be a non-empty JSON array of events")
    if len(value) > MAX_HUBSPOT_EVENTS:
        raise InvalidPayloadError(f"a HubSpot batch holds at most {MAX_HUBSPOT_EVENTS} events")
    events = []
    for index, event in enumerate(value):
        if not isinstance(event, dict):
            raise InvalidPayloadError(f"HubSpot event #{index} is not a JSON object")
        event_id = event.get("eventId")
        if isinstance(event_id, bool) or not isinstance(event_id, int | str) or str(event_id) == "":
            raise InvalidPayloadError(f"HubSpot event #{index} has no eventId")
        identity = {k: v for k, v in event.items() if k != "attemptNumber"}
        digest = hashlib.sha256(_canonical(identity)).hexdigest()[:32]
        delivery_id = f"hs_{str(event_id)[:64]}_{digest}"
        if not usable_delivery_id(delivery_id):
            raise InvalidPayloadError(f"HubSpot event #{index} has an unusable eventId")
        events.append(HubSpotEvent(delivery_id=delivery_id, body=_canonical(event)))
    return events


def _canonical(value: Any) -> bytes:
    # ASCII escapes: JSON may carry a lone surrogate, which has no UTF-8 encoding.
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode("ascii")
