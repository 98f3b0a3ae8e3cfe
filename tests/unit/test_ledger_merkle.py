"""RFC 6962/9162 tree hashing and proofs: the published CT reference vectors (RFC 6962 test leaves, as
used by google/certificate-transparency and transparency-dev/merkle), and every proof for sizes up to
64 verifying while every corruption of it is rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.merkle import EMPTY_ROOT, MerkleTree, compact_range, leaf_hash
from ledger.merkle_verify import ProofError, root_from_inclusion_proof, verify_consistency, verify_inclusion

h = bytes.fromhex

LEAVES = [h(x) for x in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                         "606162636465666768696a6b6c6d6e6f")]
ROOTS = [h(x) for x in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf number 1-based, tree size, audit path)
INCLUSION = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (3, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (2, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]
SOME_HASH = h("abacaba000000000000000000000000000000000000000000060061e00123456")


def test_empty_tree_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert MerkleTree().root() == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_roots_of_the_published_leaves() -> None:
    tree = MerkleTree.from_data(LEAVES)
    assert [tree.root(n) for n in range(1, 9)] == ROOTS
    assert tree.root().hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    for n in range(1, 9):  # a tree built to size n agrees with the prefix of a bigger one
        assert MerkleTree.from_data(LEAVES[:n]).root() == ROOTS[n - 1]


@pytest.mark.parametrize(("leaf", "size", "path"), INCLUSION)
def test_published_inclusion_proofs(leaf: int, size: int, path: list[str]) -> None:
    tree = MerkleTree.from_data(LEAVES)
    assert tree.inclusion_proof(leaf - 1, size) == [h(p) for p in path]
    verify_inclusion(leaf_hash(LEAVES[leaf - 1]), leaf - 1, size, [h(p) for p in path], ROOTS[size - 1])


@pytest.mark.parametrize(("size1", "size2", "path"), CONSISTENCY)
def test_published_consistency_proofs(size1: int, size2: int, path: list[str]) -> None:
    tree = MerkleTree.from_data(LEAVES)
    assert tree.consistency_proof(size1, size2) == [h(p) for p in path]
    verify_consistency(size1, size2, ROOTS[size1 - 1], ROOTS[size2 - 1], [h(p) for p in path])


def test_incremental_append_matches_a_batch_build() -> None:
    data = [i.to_bytes(4, "big") for i in range(77)]
    grown = MerkleTree()
    for n, item in enumerate(data, start=1):
        grown.append(leaf_hash(item))
        assert grown.root() == MerkleTree.from_data(data[:n]).root()
    assert grown.levels == MerkleTree.from_data(data).levels


def test_compact_range_tiles_the_tree() -> None:
    assert compact_range(0) == []
    assert compact_range(8) == [(3, 0)]
    assert compact_range(7) == [(2, 0), (1, 2), (0, 6)]
    assert sum(1 << level for level, _ in compact_range(100_000)) == 100_000


def flip(value: bytes, byte: int, bit: int) -> bytes:
    out = bytearray(value)
    out[byte] ^= 1 << bit
    return bytes(out)


def inclusion_corruptions(index: int, size: int, leaf: bytes, proof: list[bytes], root: bytes
                          ) -> list[tuple[str, Callable[[], None]]]:
    def probe(i: int = index, n: int = size, lf: bytes = leaf, p: list[bytes] = proof,
              r: bytes = root) -> Callable[[], None]:
        return lambda: verify_inclusion(lf, i, n, p, r)

    cases = [("index - 1", probe(i=index - 1)), ("index + 1", probe(i=index + 1)),
             ("index ^ 2", probe(i=index ^ 2)), ("size * 2", probe(n=size * 2)),
             ("size / 2", probe(n=size // 2)), ("wrong leaf", probe(lf=b"WrongLeaf")),
             ("other leaf", probe(lf=SOME_HASH)), ("empty root", probe(r=EMPTY_ROOT)),
             ("random root", probe(r=SOME_HASH)), ("no root", probe(r=b"")),
             ("trailing garbage", probe(p=[*proof, b""])), ("trailing root", probe(p=[*proof, root])),
             ("preceding garbage", probe(p=[b"", *proof])), ("preceding root", probe(p=[root, *proof]))]
    if proof:
        cases.append(("removed element", probe(p=proof[:-1])))
        cases.append(("removed first element", probe(p=proof[1:])))
    if len(proof) > 1:
        cases.append(("inserted element", probe(p=[proof[0], SOME_HASH, *proof[1:]])))
        cases.append(("swapped elements", probe(p=[proof[1], proof[0], *proof[2:]])))
    for i in range(len(proof)):
        cases.append((f"proof[{i}] bit 3", probe(p=[*proof[:i], flip(proof[i], 0, 3), *proof[i + 1:]])))
        cases.append((f"proof[{i}] last bit", probe(p=[*proof[:i], flip(proof[i], 31, 0), *proof[i + 1:]])))
    cases.append(("leaf bit", probe(lf=flip(leaf, 0, 0))))
    cases.append(("root bit", probe(r=flip(root, 31, 7))))
    return cases


def consistency_corruptions(size1: int, size2: int, root1: bytes, root2: bytes, proof: list[bytes]
                            ) -> list[tuple[str, Callable[[], None]]]:
    def probe(m: int = size1, n: int = size2, r1: bytes = root1, r2: bytes = root2,
              p: list[bytes] = proof) -> Callable[[], None]:
        return lambda: verify_consistency(m, n, r1, r2, p)

    cases = [("size1 - 1", probe(m=size1 - 1)), ("size1 + 1", probe(m=size1 + 1)),
             ("size1 ^ 2", probe(m=size1 ^ 2)), ("size2 * 2", probe(n=size2 * 2)),
             ("size2 / 2", probe(n=size2 // 2)), ("wrong root1", probe(r1=b"WrongRoot")),
             ("wrong root2", probe(r2=b"WrongRoot")), ("swapped roots", probe(r1=root2, r2=root1)),
             ("empty root1", probe(r1=EMPTY_ROOT)), ("empty root2", probe(r2=EMPTY_ROOT)),
             ("empty proof", probe(p=[])), ("trailing garbage", probe(p=[*proof, b""])),
             ("trailing root1", probe(p=[*proof, root1])), ("trailing root2", probe(p=[*proof, root2])),
             ("preceding garbage", probe(p=[b"", *proof])), ("preceding root1", probe(p=[root1, *proof])),
             ("preceding root2", probe(p=[root2, *proof])),
             ("preceding proof[0]", probe(p=[proof[0], *proof])),
             ("truncated proof", probe(p=proof[:-1])), ("root1 bit", probe(r1=flip(root1, 0, 4))),
             ("root2 bit", probe(r2=flip(root2, 0, 4)))]
    for i in range(len(proof)):
        cases.append((f"proof[{i}] bit 4", probe(p=[*proof[:i], flip(proof[i], 0, 4), *proof[i + 1:]])))
        cases.append((f"proof[{i}] last bit", probe(p=[*proof[:i], flip(proof[i], 31, 0), *proof[i + 1:]])))
    return cases


def rejected(cases: list[tuple[str, Callable[[], None]]]) -> list[str]:
    accepted = []
    for name, attempt in cases:
        try:
            attempt()
        except ProofError:
            continue
        accepted.append(name)
    return accepted


def test_every_proof_up_to_64_verifies_and_every_corruption_is_rejected() -> None:
    tree = MerkleTree.from_data([f"leaf {i}".encode() for i in range(64)])
    checked = 0
    for size in range(1, 65):
        root = tree.root(size)
        for index in range(size):
            proof = tree.inclusion_proof(index, size)
            verify_inclusion(tree.leaf(index), index, size, proof, root)
            assert rejected(inclusion_corruptions(index, size, tree.leaf(index), proof, root)) == [], \
                (index, size)
            checked += 1
        for old in range(1, size):
            proof = tree.consistency_proof(old, size)
            verify_consistency(old, size, tree.root(old), root, proof)
            assert rejected(consistency_corruptions(old, size, tree.root(old), root, proof)) == [], \
                (old, size)
    assert checked == 64 * 65 // 2


def test_trivial_consistency_cases() -> None:
    root = ROOTS[0]
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[4], [])
    verify_consistency(1, 1, root, root, [])
    for args in [(1, 1, root, ROOTS[1], []), (1, 0, root, root, []), (2, 1, root, root, []),
                 (1, 2, root, ROOTS[1], []), (0, 0, EMPTY_ROOT, EMPTY_ROOT, [EMPTY_ROOT]),
                 (0, 1, EMPTY_ROOT, root, [EMPTY_ROOT]), (1, 1, root, root, [EMPTY_ROOT])]:
        with pytest.raises(ProofError):
            verify_consistency(*args)  # type: ignore[arg-type]


def test_a_size_with_the_same_path_shape_is_not_caught_by_the_path_alone() -> None:
    """Known limit of RFC 9162 inclusion proofs: leaf 0's path in a tree of 5 has the shape of one in a
    tree of 7, so the path alone does not pin the size. The size is authenticated by the signed checkpoint
    (the proof bundle verifier compares them), never by the path."""
    tree = MerkleTree.from_data(LEAVES)
    verify_inclusion(tree.leaf(0), 0, 7, tree.inclusion_proof(0, 5), tree.root(5))


def test_single_leaf_and_out_of_range_inclusion() -> None:
    single = leaf_hash(b"data")
    verify_inclusion(single, 0, 1, [], single)
    for index, size in [(0, 0), (1, 0), (2, 1), (1, 1), (-1, 1)]:
        with pytest.raises(ProofError):
            verify_inclusion(single, index, size, [], single)
    with pytest.raises(ProofError, match="outside a tree of size 0"):
        root_from_inclusion_proof(SOME_HASH, 0, 0, [])


@settings(max_examples=200, deadline=None)
@given(data=st.lists(st.binary(max_size=8), min_size=1, max_size=300, unique=True), pick=st.data())
def test_random_trees_every_single_bit_corruption_is_rejected(data: list[bytes], pick: st.DataObject) -> None:
    tree = MerkleTree.from_data(data)
    size = pick.draw(st.integers(1, tree.size))
    index = pick.draw(st.integers(0, size - 1))
    root = tree.root(size)
    proof = tree.inclusion_proof(index, size)
    verify_inclusion(tree.leaf(index), index, size, proof, root)
    # one bit anywhere in the proof, the leaf or the root; or in the index or size
    parts = [*proof, tree.leaf(index), root]
    part = pick.draw(st.integers(0, len(parts) - 1))
    bit = pick.draw(st.integers(0, 255))
    bad = list(parts)
    bad[part] = flip(parts[part], bit // 8, bit % 8)
    with pytest.raises(ProofError):
        verify_inclusion(bad[-2], index, size, bad[:-2], bad[-1])
    num_bit = pick.draw(st.integers(0, 20))
    with pytest.raises(ProofError):
        verify_inclusion(tree.leaf(index), index ^ (1 << num_bit), size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(tree.leaf(index), index, size * 2, proof, root)

    old = pick.draw(st.integers(1, size))
    cproof = tree.consistency_proof(old, size)
    verify_consistency(old, size, tree.root(old), root, cproof)
    if cproof:
        cparts = [*cproof, tree.root(old), root]
        part = pick.draw(st.integers(0, len(cparts) - 1))
        bad = list(cparts)
        bad[part] = flip(cparts[part], bit // 8, bit % 8)
        with pytest.raises(ProofError):
            verify_consistency(old, size, bad[-2], bad[-1], bad[:-2])
        with pytest.raises(ProofError):
            verify_consistency(old ^ (1 << num_bit), size, tree.root(old), root, cproof)
