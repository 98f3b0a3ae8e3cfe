"""RELIABILITY item 22: a hypothesis state machine over append / checkpoint / verify / prove. Whatever
the interleaving, every checkpoint verifies against the grown ledger, every pair of a tenant's
checkpoints is consistent, and every entry has a bundle that verifies."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from ledger.checkpoints import SignedCheckpoint
from ledger.merkle_verify import verify_consistency
from ledger.proofs import prove, take_checkpoint, tenant_tree, verify_against_checkpoint, verify_bundle
from ledger.sql import sqlite_url
from ledger.store import Ledger, NewEntry
from tests.unit.test_ledger_checkpoints import FakeSigner, InMemoryCheckpointStore

TENANTS = st.sampled_from(["acme", "globex"])
SAFE_INTEGERS = st.integers(-(2**53) + 1, 2**53 - 1)  # RFC 8785 refuses larger ones, and so does append
PAYLOADS = st.dictionaries(st.text(max_size=5), SAFE_INTEGERS | st.text(max_size=5) | st.none(), max_size=3)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="ledger-sm-"))
        self.ledger = Ledger(sqlite_url(self.dir / "ledger.db"))
        self.signer = FakeSigner()
        self.store = InMemoryCheckpointStore()
        self.counts = {"acme": 0, "globex": 0}
        self.checkpoints: list[SignedCheckpoint] = []

    def teardown(self) -> None:
        self.ledger.engine.dispose()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(tenant=TENANTS, payloads=st.lists(PAYLOADS, min_size=1, max_size=5))
    def append(self, tenant: str, payloads: list[dict[str, object]]) -> None:
        sealed = self.ledger.append_many([NewEntry(tenant, "k", "a", p) for p in payloads])
        assert [e.seq for e in sealed] == list(range(self.counts[tenant] + 1,
                                                     self.counts[tenant] + 1 + len(payloads)))
        self.counts[tenant] += len(payloads)

    @rule(tenant=TENANTS)
    def checkpoint(self, tenant: str) -> None:
        signed, where = take_checkpoint(self.ledger, tenant, self.signer, self.store)
        assert signed.size == self.counts[tenant]
        if where is not None:
            self.checkpoints.append(signed)

    @precondition(lambda self: bool(self.checkpoints))
    @rule(data=st.data())
    def prove_an_entry(self, data: st.DataObject) -> None:
        signed = data.draw(st.sampled_from(self.checkpoints))
        if signed.size:
            seq = data.draw(st.integers(1, signed.size))
            verify_bundle(prove(self.ledger, signed.tenant, seq, signed), self.signer.public_key())

    @invariant()
    def chain_verifies(self) -> None:
        assert self.ledger.verify().entries_by_tenant == {t: n for t, n in self.counts.items() if n}

    @invariant()
    def every_checkpoint_holds_and_pairs_are_consistent(self) -> None:
        for signed in self.checkpoints:
            report = verify_against_checkpoint(self.ledger, signed, self.signer.public_key())
            assert report.size == self.counts[signed.tenant]
        for tenant in self.counts:
            mine = sorted((c for c in self.checkpoints if c.tenant == tenant), key=lambda c: c.size)
            tree = tenant_tree(self.ledger, tenant) if mine else None
            for old, new in zip(mine, mine[1:], strict=False):
                assert tree is not None
                verify_consistency(old.size, new.size, old.checkpoint.root, new.checkpoint.root,
                                   tree.consistency_proof(old.size, new.size))


LedgerMachine.TestCase.settings = settings(max_examples=15, stateful_step_count=10, deadline=None)
TestLedgerMachine = LedgerMachine.TestCase
