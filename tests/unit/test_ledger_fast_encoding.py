"""The fast encoders write byte for byte what RFC 8785 writes, so entries appended and verified on the
fast path hash exactly as any outside verifier recomputes them."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical_bytes
from ledger.entry import canonical_json, entry_hash
from ledger.header import entry_header_bytes

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(value=json_values)
def test_canonical_bytes_equal_rfc8785(value: Any) -> None:
    assert canonical_bytes(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [1.0, -0.0, 1e16, 1e-7, 0.1, 1e21, 123.456, {"é": 1, "z": 2, "a": 3},
                                   {"\U0001f600": 1, "\ufb01": 2}, [2**53 - 1], "\u2028\x7f\x00\"\\"])
def test_canonical_bytes_on_the_edges_of_the_fast_path(value: Any) -> None:
    assert canonical_bytes(value) == canonical_json(value)


def test_values_json_cannot_hold_are_refused_like_rfc8785() -> None:
    for bad in [float("nan"), float("inf"), {1: "int key"}, 2**60]:
        with pytest.raises(rfc8785.CanonicalizationError):
            canonical_bytes(bad)


@settings(max_examples=300, deadline=None)
@given(seq=st.integers(0, 2**53 - 1), tenant=st.text(), kind=st.text(), actor=st.text(),
       recorded_at=st.text(), digest=st.text(), prev=st.text())
def test_header_bytes_equal_the_entry_hash_definition(seq: int, tenant: str, kind: str, actor: str,
                                                      recorded_at: str, digest: str, prev: str) -> None:
    fields = dict(seq=seq, tenant=tenant, kind=kind, actor=actor, recorded_at=recorded_at,
                  payload_digest=digest, prev_hash=prev)
    header = entry_header_bytes(**fields)  # type: ignore[arg-type]
    assert header == canonical_json(fields)
    assert hashlib.sha256(header).hexdigest() == entry_hash(**fields)  # type: ignore[arg-type]
