"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing and proof generation.

    leaf hash  = SHA-256(0x00 || leaf data)
    node hash  = SHA-256(0x01 || left || right)
    MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two smaller than n
    MTH({})    = SHA-256(empty string)

A ledger tenant's leaves are its entries in seq order; the leaf data of an entry is the 32 raw bytes of
its ``entry_hash`` (which commits to every field and, through prev_hash, to every earlier entry).

The tree keeps only perfect subtrees (``levels[k][i]`` is the root of leaves ``[i*2^k, (i+1)*2^k)``);
the root and proofs of any prefix of the tree are assembled from O(log n) of them, so one tree built at
the current head answers for every older checkpoint size too. Verifiers live in ``ledger.merkle_verify``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def largest_power_of_two_below(n: int) -> int:
    """The k of RFC 9162's split: the largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def compact_range(size: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) that tile leaves [0, size), left to right."""
    out = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            out.append((level, start >> level))
            start += 1 << level
    return out


class MerkleTree:
    """An append-only RFC 9162 tree over leaf hashes; roots and proofs for any size up to ``size``."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [list(leaf_hashes)]
        self._complete()

    @classmethod
    def from_levels(cls, levels: list[list[bytes]]) -> MerkleTree:
        """A tree from its lower levels, already hashed (``levels[k][i]`` as in the class docstring,
        e.g. joined from aligned chunks hashed elsewhere); the levels above are computed here."""
        tree = cls.__new__(cls)
        tree.levels = levels or [[]]
        tree._complete()
        return tree

    def _complete(self) -> None:
        sha256 = hashlib.sha256
        level = self.levels[-1]
        while len(level) > 1:
            level = [sha256(NODE_PREFIX + left + right).digest()
                     for left, right in zip(level[0::2], level[1::2], strict=False)]
            self.levels.append(level)

    @classmethod
    def from_data(cls, leaves: Iterable[bytes]) -> MerkleTree:
        sha256 = hashlib.sha256
        return cls(sha256(LEAF_PREFIX + data).digest() for data in leaves)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> None:
        """Add one leaf hash; completes every perfect subtree it closes (amortised O(1))."""
        self.levels[0].append(leaf)
        level = 0
        while len(self.levels[level]) % 2 == 0:
            below = self.levels[level]
            if level + 1 == len(self.levels):
                self.levels.append([])
            self.levels[level + 1].append(node_hash(below[-2], below[-1]))
            level += 1

    def leaf(self, index: int) -> bytes:
        return self.levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        size = self._checked_size(size)
        return self._range_hash(0, size) if size else EMPTY_ROOT

    def subtree(self, level: int, index: int) -> bytes:
        """Root of the perfect subtree over leaves [index*2^level, (index+1)*2^level)."""
        return self.levels[level][index]

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.3.1 PATH(index, D[0:size]), leaf side first."""
        size = self._checked_size(size)
        if not 0 <= index < size:
            raise ValueError(f"leaf index {index} is outside a tree of size {size}")
        path: list[bytes] = []
        start, end, m = 0, size, index
        while end - start > 1:
            k = largest_power_of_two_below(end - start)
            if m < k:
                path.append(self._range_hash(start + k, end))
                end = start + k
            else:
                path.append(self._range_hash(start, start + k))
                start, m = start + k, m - k
        path.reverse()
        return path

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:size]); empty when old_size is 0 or equals size."""
        size = self._checked_size(size)
        if not 0 <= old_size <= size:
            raise ValueError(f"old size {old_size} is not between 0 and the tree size {size}")
        if old_size in (0, size):
            return []
        proof: list[bytes] = []
        start, end, m, whole = 0, size, old_size, True
        while m != end - start:
            k = largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self._range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._range_hash(start, start + k))
                start, m, whole = start + k, m - k, False
        if not whole:
            proof.append(self._range_hash(start, end))
        proof.reverse()
        return proof

    def _checked_size(self, size: int | None) -> int:
        if size is None:
            return self.size
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} is outside 0..{self.size} (the leaves held)")
        return size

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end); start is always aligned as RFC 9162's recursion guarantees."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self.levels[level][start >> level]
        k = largest_power_of_two_below(n)
        return node_hash(self._range_hash(start, start + k), self._range_hash(start + k, end))


def root_of(leaf_hashes: Sequence[bytes]) -> bytes:
    return MerkleTree(leaf_hashes).root()
