"""ledger/README.md's reference verifier is real: extracted from the README and run on real bundles."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature

from ledger.note import verifier_key
from ledger.proofs import prove, take_checkpoint
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from tests.unit.test_ledger_checkpoints import FakeSigner, InMemoryCheckpointStore, corrupted_bundles

README = Path(__file__).resolve().parents[2] / "ledger" / "README.md"


def reference_verifier() -> Callable[[dict[str, Any], str], None]:
    text = README.read_text(encoding="utf-8")
    section = text.split("### Reference verifier", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "the README lost its reference verifier"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(README), "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify"]


def test_the_reference_verifier_is_short() -> None:
    section = README.read_text(encoding="utf-8").split("### Reference verifier", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code and len(code.group(1).strip().splitlines()) <= 32


def test_the_readme_verifier_accepts_real_bundles_and_rejects_corrupted_ones(tmp_path: Path) -> None:
    verify = reference_verifier()
    ledger = Ledger(sqlite_url(tmp_path / "ledger.db"))
    ledger.append_many([NewEntry("acme", "proposal.created", "agent", {"i": i, "note": "é ✓", "x": 0.5})
                        for i in range(13)])
    signer = FakeSigner("revloop-ledger")
    signed, _ = take_checkpoint(ledger, "acme", signer, InMemoryCheckpointStore())
    vkey = verifier_key(signer.name, signer.public_key())
    for seq in range(1, 14):
        verify(json.loads(json.dumps(prove(ledger, "acme", seq, signed))), vkey)

    bundle = prove(ledger, "acme", 6, signed)
    accepted = []
    for name, bad in corrupted_bundles(bundle):
        try:
            verify(bad, vkey)
        except (ValueError, InvalidSignature):
            continue
        accepted.append(name)
    assert accepted == []
    other = verifier_key("revloop-ledger", FakeSigner().public_key())
    with pytest.raises(ValueError, match="signer"):
        verify(bundle, other)
