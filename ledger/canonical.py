"""RFC 8785 canonical JSON, fast for the payloads the loop writes; identical bytes to ``canonical_json``.

Python's ``json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` already writes RFC 8785
for the values most payloads hold: strings, safe integers, booleans, null, ASCII keys and floats that
print without an exponent or a trailing ``.0``. One pass checks that the value stays inside that set;
anything else (other floats, big integers, non-ASCII keys, whose order differs between UTF-16 and code
points) goes through the RFC 8785 library, which also raises on what JSON cannot hold."""

from __future__ import annotations

import json
from typing import Any

from ledger.entry import canonical_json

_MAX_SAFE_INTEGER = 2**53 - 1
# One encoder for every call: json.dumps with options builds a new one each time.
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _fast_path_holds(value: Any) -> bool:
    pending = [value]
    while pending:
        item = pending.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:
                return False
        elif kind is float:
            text = repr(item)
            if "e" in text or "n" in text or text.endswith(".0"):
                return False
        elif kind is dict:
            try:
                if not "".join(item).isascii():
                    return False
            except TypeError:  # a key that is not a string
                return False
            pending.extend(item.values())
        elif kind is list:
            pending.extend(item)
        else:
            return False
    return True


def canonical_bytes(value: Any) -> bytes:
    return canonical_bytes_of(value)[0]


def canonical_bytes_of(value: Any) -> tuple[bytes, bool]:
    """The canonical bytes, and whether ``value`` is plain JSON (so parsing them gives it back)."""
    if _fast_path_holds(value):
        try:
            return _ENCODER.encode(value).encode(), True
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the RFC 8785 library name the problem
    return canonical_json(value), False
