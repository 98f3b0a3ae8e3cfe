"""RFC 9162 proof verifiers, step for step as §2.1.3.2 (inclusion) and §2.1.4.2 (consistency).

Each ``verify_*`` returns nothing or raises :class:`ProofError` saying what did not hold. Every hash is
checked to be exactly 32 bytes before any arithmetic, so padding or truncating an element fails too."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ledger.merkle import HASH_SIZE, NODE_PREFIX


class ProofError(ValueError):
    """A Merkle proof did not verify."""


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} is {len(value)} bytes, a SHA-256 hash is {HASH_SIZE}")


def _check_proof(proof: Sequence[bytes]) -> None:
    for i, element in enumerate(proof):
        _check_hash(element, f"proof element {i}")


def _hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root the proof leads to (RFC 9162 §2.1.3.2 steps 1-4); raises if the path cannot fit."""
    _check_hash(leaf_hash, "leaf hash")
    _check_proof(proof)
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            r = _hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = _hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the path to the root")
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    _check_hash(root, "root")
    if root_from_inclusion_proof(leaf_hash, index, size, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root of size {size}")


def verify_consistency(size1: int, size2: int, root1: bytes, root2: bytes, proof: Sequence[bytes]) -> None:
    """That the tree of size2 with root2 extends the tree of size1 with root1."""
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    _check_proof(proof)
    if not 0 <= size1 <= size2:
        raise ProofError(f"sizes go backwards or are negative: {size1} -> {size2}")
    if size1 == size2:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}")
        return
    if size1 == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    # RFC 9162 §2.1.4.2
    if not proof:
        raise ProofError("consistency proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the path to the root")
        if fn & 1 or fn == sn:
            fr = _hash(c, fr)
            sr = _hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = _hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the path to the root")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the first root (size {size1})")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the second root (size {size2})")
