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


def _fast_path_holds(value: Any) -> bool:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER
    if kind is float:
        text = repr(value)
        return "e" not in text and "n" not in text and not text.endswith(".0")
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or not _fast_path_holds(item):
                return False
        return True
    if kind is list:
        return all(_fast_path_holds(item) for item in value)
    return False


def canonical_bytes(value: Any) -> bytes:
    if _fast_path_holds(value):
        try:
            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                              allow_nan=False).encode()
        except UnicodeEncodeError:
            pass  # a lone surrogate: let the RFC 8785 library name the problem
    return canonical_json(value)
