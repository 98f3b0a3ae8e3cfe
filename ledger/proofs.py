"""The ledger as proof: checkpoints of each tenant's tree, verification against them, inclusion bundles.

A tenant's tree has one leaf per entry, in seq order; the leaf data is the entry hash's 32 raw bytes.
Verification against a checkpoint first re-verifies the hash chain (naming the first bad entry), then
requires the signed root at the checkpoint's size and a consistency proof from there to the head."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.checkpoints import (
    Checkpoint,
    CheckpointExistsError,
    CheckpointStore,
    SignedCheckpoint,
)
from ledger.merkle import MerkleTree, compact_range, leaf_hash
from ledger.merkle_verify import ProofError, verify_consistency, verify_inclusion
from ledger.note import Signer
from ledger.store import Ledger
from ledger.verify import LedgerVerificationError, StoredRow, verify_entry

BUNDLE_FORMAT = "revloop-inclusion-proof/v1"


class CheckpointMismatchError(LedgerVerificationError):
    """The chain is intact but is not the chain the checkpoint signed: entries first..last hold the
    first difference (a rewritten tail, or a forked history)."""

    def __init__(self, tenant: str, first_seq: int, last_seq: int, reason: str) -> None:
        super().__init__(tenant, first_seq, reason)
        self.last_seq = last_seq


@dataclass(frozen=True)
class CheckpointVerified:
    tenant: str
    checkpoint_size: int
    size: int
    root: bytes


def tenant_tree(ledger: Ledger, tenant: str) -> MerkleTree:
    """Verify the tenant's chain and build its Merkle tree (raises at the first bad entry)."""
    return ledger.verified_tree(tenant)


def make_checkpoint(tree: MerkleTree, tenant: str, at: datetime, size: int | None = None) -> Checkpoint:
    size = tree.size if size is None else size
    return Checkpoint(tenant=tenant, size=size, root=tree.root(size), time=at,
                      subtrees=tuple(tree.subtree(level, index) for level, index in compact_range(size)))


def take_checkpoint(ledger: Ledger, tenant: str, signer: Signer, store: CheckpointStore,
                    at: datetime | None = None) -> tuple[SignedCheckpoint, str | None]:
    """Sign the tenant's current head and write it. Returns (checkpoint, where written); where is None
    when the store already held a checkpoint of this size with the same root (nothing new to sign).
    A held checkpoint of the same size with another root means the history was rewritten: raises."""
    tree = tenant_tree(ledger, tenant)
    held = store.get(tenant, tree.size)
    if held is not None:
        existing = SignedCheckpoint.parse(held)
        if existing.checkpoint.root != tree.root():
            raise CheckpointMismatchError(tenant, 1, tree.size,
                                          f"the store holds a checkpoint of size {tree.size} with another "
                                          "root: the ledger's history differs from what was signed")
        return existing, None
    signed = SignedCheckpoint.sign(make_checkpoint(tree, tenant, at or datetime.now(UTC)), signer)
    try:
        return signed, store.put(signed)
    except CheckpointExistsError:
        return take_checkpoint(ledger, tenant, signer, store, at)  # a concurrent writer won the race


def verify_against_checkpoint(ledger: Ledger, checkpoint: SignedCheckpoint | str,
                              public_key: Ed25519PublicKey) -> CheckpointVerified:
    """Check the signature, the tenant's chain, the root at the checkpoint's size and the consistency
    proof to the current head. Raises CheckpointError (signature/format) or LedgerVerificationError
    naming the tenant and the first bad entry (or, for a rewritten tail, the range holding it)."""
    note = checkpoint if isinstance(checkpoint, str) else checkpoint.note
    signed = SignedCheckpoint.open(note, public_key)
    held = signed.checkpoint
    tree = tenant_tree(ledger, held.tenant)
    if tree.size < held.size:
        raise LedgerVerificationError(held.tenant, tree.size + 1,
                                      f"entries {tree.size + 1}..{held.size} are missing: the checkpoint "
                                      f"covers {held.size} entries, the ledger holds {tree.size}")
    if tree.root(held.size) != held.root:
        first, last = _first_differing_subtree(tree, held)
        raise CheckpointMismatchError(held.tenant, first, last,
                                      f"entries {first}..{last} hold the first difference from the "
                                      f"checkpoint of size {held.size} (hashes rewritten after it was "
                                      "signed)")
    try:
        verify_consistency(held.size, tree.size, held.root, tree.root(),
                           tree.consistency_proof(held.size))
    except ProofError as exc:  # only reachable through a bug: the tree was built from the same leaves
        raise LedgerVerificationError(held.tenant, held.size, f"head is not consistent: {exc}") from exc
    return CheckpointVerified(held.tenant, held.size, tree.size, tree.root())


def _first_differing_subtree(tree: MerkleTree, held: Checkpoint) -> tuple[int, int]:
    start = 0
    for (level, index), signed_root in zip(compact_range(held.size), held.subtrees, strict=True):
        if tree.subtree(level, index) != signed_root:
            return start + 1, start + (1 << level)
        start += 1 << level
    return 1, held.size  # the subtrees fold to the signed root, so this means the root differs alone


def prove(ledger: Ledger, tenant: str, seq: int, checkpoint: SignedCheckpoint) -> dict[str, Any]:
    """An inclusion proof bundle for entry ``seq`` in the tree the checkpoint signed.

    The caller picks the checkpoint (normally the newest in the store); it must cover ``seq`` and
    belong to ``tenant``, and the ledger must still match it."""
    held = checkpoint.checkpoint
    if held.tenant != tenant:
        raise ValueError(f"the checkpoint is of tenant {held.tenant!r}, not {tenant!r}")
    if not 1 <= seq <= held.size:
        raise ValueError(f"entry {tenant}:{seq} is not covered by the checkpoint of size {held.size}; "
                         "take a newer checkpoint first (revloop ledger checkpoint)")
    tree = tenant_tree(ledger, tenant)
    if tree.size < held.size or tree.root(held.size) != held.root:
        raise LedgerVerificationError(tenant, seq, "the ledger no longer matches the checkpoint; run "
                                                   "`revloop ledger verify --checkpoint` to find out where")
    row = ledger.row(tenant, seq)
    if row is None:  # pragma: no cover - the tree above was built from this very row
        raise LedgerVerificationError(tenant, seq, "entry vanished while the proof was built")
    return {
        "format": BUNDLE_FORMAT,
        "entry": {"seq": row.seq, "tenant": row.tenant, "kind": row.kind, "actor": row.actor,
                  "recorded_at": row.recorded_at, "payload": row.payload_json,
                  "payload_digest": row.payload_digest, "prev_hash": row.prev_hash,
                  "entry_hash": row.entry_hash},
        "leaf_index": seq - 1,
        "leaf_hash": tree.leaf(seq - 1).hex(),
        "tree_size": held.size,
        "audit_path": [h.hex() for h in tree.inclusion_proof(seq - 1, held.size)],
        "root": held.root.hex(),
        "checkpoint": checkpoint.note,
    }


def verify_bundle(bundle: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """The project's own check of a bundle (ledger/README.md has a standalone one for third parties)."""
    signed = SignedCheckpoint.open(bundle["checkpoint"], public_key)
    entry = bundle["entry"]
    if bundle.get("format") != BUNDLE_FORMAT:
        raise ProofError(f"unknown bundle format {bundle.get('format')!r}")
    if entry["tenant"] != signed.tenant or bundle["tree_size"] != signed.size:
        raise ProofError("the bundle's tenant or tree size is not the signed checkpoint's")
    if bytes.fromhex(bundle["root"]) != signed.checkpoint.root:
        raise ProofError("the bundle's root is not the signed checkpoint's root")
    if bundle["leaf_index"] != entry["seq"] - 1:
        raise ProofError("the leaf index is not the entry's position (seq - 1)")
    fields = {k: v for k, v in entry.items() if k != "payload"}
    try:
        verify_entry(StoredRow(payload_json=entry["payload"], **fields))
    except LedgerVerificationError as exc:
        raise ProofError(f"the bundled entry does not hash to its entry hash: {exc.reason}") from exc
    leaf = leaf_hash(bytes.fromhex(entry["entry_hash"]))
    if leaf.hex() != bundle["leaf_hash"]:
        raise ProofError("the leaf hash is not SHA-256(0x00 || entry hash)")
    verify_inclusion(leaf, bundle["leaf_index"], signed.size,
                     [bytes.fromhex(h) for h in bundle["audit_path"]], signed.checkpoint.root)
