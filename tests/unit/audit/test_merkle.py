"""Tests of the RFC 6962 log core in portal.audit.merkle."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from functools import lru_cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.audit.merkle import (
    EMPTY_ROOT,
    MerkleError,
    MerkleTree,
    ProofError,
    RootBuilder,
    StateError,
    canonical_bytes,
    find_first_mismatch,
    leaf_hash,
    node_hash,
    root_from_entries,
    verify_consistency,
    verify_inclusion,
)

# --- published vectors --------------------------------------------------------
# RFC 6962 reference vectors as used by Certificate Transparency
# (transparency-dev/merkle proof/verify_test.go, formerly certificate-transparency-go).

LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
)]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
# (leaf index counting from 0, tree size, audit path)
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]
CONSISTENCY_VECTORS = [
    (1, 1, []),
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
SOME_HASH = bytes.fromhex("abacaba000000000000000000000000000000000000000000060061e00123456")


# --- brute-force reference, straight from RFC 6962 section 2.1 ---------------

def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: tuple[bytes, ...]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:])).digest()


def ref_path(m: int, d: tuple[bytes, ...]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return ref_path(m, d[:k]) + [ref_mth(d[k:])]
    return ref_path(m - k, d[k:]) + [ref_mth(d[:k])]


def ref_subproof(m: int, d: tuple[bytes, ...], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = _k(n)
    if m <= k:
        return ref_subproof(m, d[:k], b) + [ref_mth(d[k:])]
    return ref_subproof(m - k, d[k:], False) + [ref_mth(d[:k])]


ENTRIES = tuple(b"entry-%d" % i for i in range(130))
ref_mth = lru_cache(maxsize=None)(ref_mth)


@pytest.fixture(scope="module")
def big_tree() -> MerkleTree:
    tree = MerkleTree()
    tree.append_many(ENTRIES)
    return tree


def _flip(h: bytes, bit: int = 3) -> bytes:
    return bytes([h[0] ^ (1 << bit)]) + h[1:]


# --- hashing and published vectors -------------------------------------------

def test_empty_tree_root_is_sha256_of_the_empty_string():
    assert MerkleTree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
    assert root_from_entries([]) == (0, EMPTY_ROOT)


def test_leaf_and_node_hashes_use_the_rfc6962_domain_separation_prefixes():
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    with pytest.raises(TypeError, match="entry must be bytes"):
        leaf_hash("text")


def test_roots_of_sizes_one_to_eight_match_the_published_rfc6962_vectors():
    tree = MerkleTree()
    for size, (entry, expected) in enumerate(zip(LEAVES, ROOTS), 1):
        tree.append(entry)
        assert tree.root() == expected, f"size {size}"
    assert [tree.root(n) for n in range(1, 9)] == ROOTS


@pytest.mark.parametrize("index,size,path", INCLUSION_VECTORS)
def test_published_inclusion_proofs_are_generated_and_verify(index, size, path):
    tree = MerkleTree()
    tree.append_many(LEAVES)
    proof = [bytes.fromhex(p) for p in path]
    assert tree.inclusion_proof(index, size) == proof
    verify_inclusion(leaf_hash(LEAVES[index]), index, size, proof, ROOTS[size - 1])


@pytest.mark.parametrize("old,new,path", CONSISTENCY_VECTORS)
def test_published_consistency_proofs_are_generated_and_verify(old, new, path):
    tree = MerkleTree()
    tree.append_many(LEAVES)
    proof = [bytes.fromhex(p) for p in path]
    assert tree.consistency_proof(old, new) == proof
    verify_consistency(old, new, ROOTS[old - 1], ROOTS[new - 1], proof)


@pytest.mark.parametrize("index,size,path", [v for v in INCLUSION_VECTORS if v[2]])
def test_published_inclusion_proofs_fail_every_corruption_of_the_reference_suite(index, size, path):
    proof = [bytes.fromhex(p) for p in path]
    root, leaf = ROOTS[size - 1], leaf_hash(LEAVES[index])
    probes = [
        (index - 1, size, root, leaf, proof), (index + 1, size, root, leaf, proof),
        (index ^ 2, size, root, leaf, proof), (index, size * 2, root, leaf, proof),
        (index, size // 2, root, leaf, proof), (index, size, root, b"WrongLeaf", proof),
        (index, size, EMPTY_ROOT, leaf, proof), (index, size, SOME_HASH, leaf, proof),
        (index, size, root, leaf, proof + [b""]), (index, size, root, leaf, proof + [root]),
        (index, size, root, leaf, [b""] + proof), (index, size, root, leaf, [root] + proof),
        (index, size, root, leaf, proof[:-1]),
        (index, size, root, leaf, [proof[0], SOME_HASH] + proof[1:]),
    ] + [(index, size, root, leaf, proof[:i] + [_flip(proof[i])] + proof[i + 1:])
         for i in range(len(proof))]
    for i, (idx, sz, rt, lf, pf) in enumerate(probes):
        if idx < 0:
            continue
        with pytest.raises(ProofError):
            verify_inclusion(lf, idx, sz, pf, rt)
            pytest.fail(f"probe {i} verified")


@pytest.mark.parametrize("old,new,path", [v for v in CONSISTENCY_VECTORS if v[2]])
def test_published_consistency_proofs_fail_every_corruption_of_the_reference_suite(old, new, path):
    proof = [bytes.fromhex(p) for p in path]
    r1, r2 = ROOTS[old - 1], ROOTS[new - 1]
    probes = [
        (old - 1, new, r1, r2, proof), (old + 1, new, r1, r2, proof), (old ^ 2, new, r1, r2, proof),
        (old, new * 2, r1, r2, proof), (old, new // 2, r1, r2, proof),
        (old, new, SOME_HASH, r2, proof), (old, new, r1, SOME_HASH, proof), (old, new, r2, r1, proof),
        (old, new, r1, r2, []), (old, new, r1, r2, proof + [b""]), (old, new, r1, r2, proof + [r1]),
        (old, new, r1, r2, proof + [r2]), (old, new, r1, r2, [b""] + proof),
        (old, new, r1, r2, [r1] + proof), (old, new, r1, r2, [r2] + proof),
        (old, new, r1, r2, [proof[0]] + proof), (old, new, r1, r2, proof[:-1]),
    ] + [(old, new, r1, r2, proof[:i] + [_flip(proof[i], 4)] + proof[i + 1:]) for i in range(len(proof))]
    for i, (m, n, a, b, pf) in enumerate(probes):
        with pytest.raises(ProofError):
            verify_consistency(m, n, a, b, pf)
            pytest.fail(f"probe {i} verified")


# --- exhaustive checks against the reference ---------------------------------

def test_roots_of_every_tree_size_up_to_130_match_the_reference_built_fresh_or_as_an_older_size(big_tree):
    tree = MerkleTree()
    for n in range(131):
        expected = ref_mth(ENTRIES[:n])
        assert tree.root() == expected == big_tree.root(n), f"size {n}"
        if n < 130:
            tree.append(ENTRIES[n])


def test_inclusion_proofs_verify_for_every_index_of_every_tree_size_up_to_130(big_tree):
    for n in range(1, 131):
        root = big_tree.root(n)
        for m in range(n):
            proof = big_tree.inclusion_proof(m, n)
            assert proof == ref_path(m, ENTRIES[:n]), f"index {m} size {n}"
            verify_inclusion(leaf_hash(ENTRIES[m]), m, n, proof, root)


def test_consistency_proofs_verify_for_every_pair_of_sizes_up_to_70(big_tree):
    for n in range(1, 71):
        root = big_tree.root(n)
        for m in range(0, n + 1):
            proof = big_tree.consistency_proof(m, n)
            expected = [] if m in (0, n) else ref_subproof(m, ENTRIES[:n], True)
            assert proof == expected, f"sizes {m} -> {n}"
            verify_consistency(m, n, big_tree.root(m), root, proof)


def test_tampered_inclusion_proofs_wrong_index_wrong_leaf_or_wrong_root_fail_for_all_trees_up_to_40(big_tree):
    for n in range(1, 41):
        root = big_tree.root(n)
        for m in range(n):
            leaf = leaf_hash(ENTRIES[m])
            proof = big_tree.inclusion_proof(m, n)
            bad_calls = [(leaf, m, n, proof, big_tree.root(n - 1) if n > 1 else SOME_HASH),
                         (leaf, m, n, proof, _flip(root)),
                         (leaf_hash(b"forged"), m, n, proof, root),
                         (leaf, m, n, proof + [SOME_HASH], root)]
            bad_calls += [(leaf, j, n, proof, root) for j in (m - 1, m + 1, m ^ 2) if j >= 0 and j != m]
            bad_calls += [(leaf, m, n, proof[:i] + [_flip(proof[i], b)] + proof[i + 1:], root)
                          for i in range(len(proof)) for b in (0, 7)]
            if proof:
                bad_calls.append((leaf, m, n, proof[:-1], root))
            for call in bad_calls:
                with pytest.raises(ProofError):
                    verify_inclusion(*call)
                    pytest.fail(f"index {m} size {n}: {call[1:3]} verified")


def test_a_wrong_tree_size_fails_whenever_it_changes_the_shape_of_the_audit_path(big_tree):
    # RFC 6962 roots do not commit to the size: (index 0, size 3) and (index 0, size 4) share
    # the same hashing order, so only sizes with a different path shape can be told apart.
    # The signed checkpoint is what binds a root to its size.
    for n in range(1, 41):
        for m in range(n):
            proof = big_tree.inclusion_proof(m, n)
            for wrong in (n - 1, n + 1, n * 2, n // 2):
                if wrong <= m or wrong == n:
                    with pytest.raises(ProofError):
                        verify_inclusion(leaf_hash(ENTRIES[m]), m, wrong, proof, big_tree.root(n))
                    continue
                same_shape = len(ref_path(m, ENTRIES[:wrong])) == len(proof) and \
                    _shape(m, wrong) == _shape(m, n)
                if not same_shape:
                    with pytest.raises(ProofError):
                        verify_inclusion(leaf_hash(ENTRIES[m]), m, wrong, proof, big_tree.root(n))


def _shape(m: int, n: int) -> list[bool]:
    """Left/right order of the audit path of leaf m in a tree of n leaves."""
    shape, start, end = [], 0, n
    while end - start > 1:
        k = _k(end - start)
        shape.append(m < start + k)
        start, end = (start, start + k) if m < start + k else (start + k, end)
    return shape[::-1]


def test_tampered_consistency_proofs_or_wrong_roots_fail_for_all_pairs_up_to_40(big_tree):
    for n in range(2, 41):
        r2 = big_tree.root(n)
        for m in range(1, n):
            r1 = big_tree.root(m)
            proof = big_tree.consistency_proof(m, n)
            bad_calls = [(m, n, _flip(r1), r2, proof), (m, n, r1, _flip(r2), proof),
                         (m, n, r2, r1, proof), (m, n, r1, r2, proof + [SOME_HASH]),
                         (m, n, r1, r2, proof[:-1]), (m, n, r1, r2, [])]
            bad_calls += [(m, n, r1, r2, proof[:i] + [_flip(proof[i], b)] + proof[i + 1:])
                          for i in range(len(proof)) for b in (0, 4)]
            for call in bad_calls:
                with pytest.raises(ProofError):
                    verify_consistency(*call)
                    pytest.fail(f"sizes {m}->{n} verified a tampered call")


def test_verification_rejects_malformed_inputs_with_a_message_naming_the_problem():
    root = ROOTS[7]
    with pytest.raises(ProofError, match="outside a tree of size 8"):
        verify_inclusion(leaf_hash(b""), 8, 8, [], root)
    with pytest.raises(ProofError, match="root hash must be a 32-byte hash"):
        verify_inclusion(leaf_hash(b""), 0, 1, [], b"short")
    with pytest.raises(ProofError, match=r"has 2 hashes, expected 3"):
        verify_inclusion(leaf_hash(LEAVES[0]), 0, 8, [SOME_HASH] * 2, root)
    with pytest.raises(ProofError, match=r"hash 1 of inclusion proof for leaf 0 in a tree of size 8 must be a 32-byte hash, got 1 bytes"):
        verify_inclusion(leaf_hash(LEAVES[0]), 0, 8, [SOME_HASH, b"x", SOME_HASH], root)
    with pytest.raises(ProofError, match="must be a sequence of hashes"):
        verify_inclusion(leaf_hash(LEAVES[0]), 0, 8, SOME_HASH, root)
    with pytest.raises(MerkleError, match="must not be negative"):
        verify_inclusion(leaf_hash(LEAVES[0]), -1, 8, [], root)
    with pytest.raises(ProofError, match="old size 5 is larger than new size 3"):
        verify_consistency(5, 3, ROOTS[4], ROOTS[2], [])
    with pytest.raises(ProofError, match="roots differ for the same tree size 3"):
        verify_consistency(3, 3, ROOTS[2], ROOTS[3], [])
    with pytest.raises(ProofError, match="empty tree"):
        verify_consistency(0, 3, ROOTS[0], ROOTS[2], [])
    with pytest.raises(ProofError, match="has 1 hashes, expected 0"):
        verify_consistency(0, 3, EMPTY_ROOT, ROOTS[2], [SOME_HASH])
    verify_consistency(0, 3, EMPTY_ROOT, ROOTS[2], [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])


def test_tree_rejects_out_of_range_indexes_and_sizes(big_tree):
    with pytest.raises(MerkleError, match="leaf index 130 is outside a tree of size 130"):
        big_tree.inclusion_proof(130)
    with pytest.raises(MerkleError, match="leaf index 5 is outside a tree of size 5"):
        big_tree.inclusion_proof(5, 5)
    with pytest.raises(MerkleError, match="tree size 131 is larger than the current size 130"):
        big_tree.root(131)
    with pytest.raises(MerkleError, match="old size 9 is larger than new size 8"):
        big_tree.consistency_proof(9, 8)
    with pytest.raises(MerkleError, match="must not be negative"):
        big_tree.leaf_hash(-1)
    with pytest.raises(TypeError):
        big_tree.root("3")
    assert big_tree.consistency_proof(0) == [] and big_tree.consistency_proof(130) == []


def test_append_many_and_leaf_hash_fast_paths_return_index_ranges_and_agree():
    a, b, c = MerkleTree(), MerkleTree(), MerkleTree()
    assert a.append(b"x") == 0
    assert a.append_many([b"y", b"z"]) == range(1, 3)
    hashes = [leaf_hash(e) for e in (b"x", b"y", b"z")]
    assert b.append_leaf_hashes(hashes) == range(0, 3)
    assert c.append_leaf_hashes(b"".join(hashes)) == range(0, 3)
    assert a.root() == b.root() == c.root() == ref_mth((b"x", b"y", b"z"))
    assert [a.leaf_hash(i) for i in range(3)] == hashes
    assert a.read_leaf_hashes(1, 2) == b"".join(hashes[1:])
    assert a.append_many([]) == range(3, 3)
    with pytest.raises(MerkleError, match="leaf hash 3 has 31 bytes"):
        a.append_leaf_hashes([b"\x00" * 31])
    with pytest.raises(MerkleError, match="not a multiple of 32"):
        a.append_leaf_hashes(b"\x00" * 33)
    assert a.size == 3


def test_streaming_root_matches_the_tree_for_every_size_up_to_130(big_tree):
    builder = RootBuilder()
    assert builder.root() == EMPTY_ROOT
    for n, entry in enumerate(ENTRIES, 1):
        builder.add(entry)
        assert builder.size == n and builder.root() == big_tree.root(n)
    assert root_from_entries(iter(ENTRIES)) == (130, big_tree.root())


def test_roots_agree_with_the_independent_pymerkle_implementation_when_installed(big_tree):
    pymerkle = pytest.importorskip("pymerkle")
    other = pymerkle.InmemoryTree()
    for n, entry in enumerate(ENTRIES, 1):
        other.append_entry(entry)
        assert other.get_root() == big_tree.root(n)


# --- tamper detection properties ----------------------------------------------

_unique_entries = st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=80, unique=True)
_fast = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_detected(original: list[bytes], tampered: list[bytes], expected_index: int) -> None:
    tree = MerkleTree()
    tree.append_many(original)
    assert root_from_entries(tampered)[1] != tree.root()
    assert find_first_mismatch(tampered, tree) == expected_index
    assert find_first_mismatch(original, tree) is None


@_fast
@given(_unique_entries, st.data())
def test_changing_one_byte_of_any_entry_changes_the_root_and_is_located(entries, data):
    i = data.draw(st.integers(0, len(entries) - 1))
    pos = data.draw(st.integers(0, len(entries[i]) - 1))
    delta = data.draw(st.integers(1, 255))
    changed = bytearray(entries[i])
    changed[pos] ^= delta
    tampered = entries[:i] + [bytes(changed)] + entries[i + 1:]
    _check_detected(entries, tampered, i)


@_fast
@given(_unique_entries, st.data())
def test_deleting_an_entry_changes_the_root_and_is_located(entries, data):
    i = data.draw(st.integers(0, len(entries) - 1))
    _check_detected(entries, entries[:i] + entries[i + 1:], i)


@_fast
@given(st.lists(st.binary(min_size=1, max_size=12), min_size=2, max_size=80, unique=True), st.data())
def test_swapping_two_entries_changes_the_root_and_is_located(entries, data):
    i = data.draw(st.integers(0, len(entries) - 2))
    j = data.draw(st.integers(i + 1, len(entries) - 1))
    tampered = list(entries)
    tampered[i], tampered[j] = tampered[j], tampered[i]
    _check_detected(entries, tampered, i)


@_fast
@given(_unique_entries, st.data())
def test_truncating_the_entries_changes_the_root_and_names_the_first_missing_index(entries, data):
    k = data.draw(st.integers(0, len(entries) - 1))
    _check_detected(entries, entries[:k], k)


@_fast
@given(_unique_entries, st.data())
def test_inserting_a_forged_entry_changes_the_root_and_is_located(entries, data):
    i = data.draw(st.integers(0, len(entries)))
    forged = data.draw(st.binary(min_size=1, max_size=12).filter(lambda f: f not in entries))
    _check_detected(entries, entries[:i] + [forged] + entries[i:], i)


def test_find_first_mismatch_spans_batches_and_reports_extra_tree_leaves():
    entries = [b"%d" % i for i in range(70_000)]
    tree = MerkleTree()
    tree.append_many(entries)
    assert find_first_mismatch(iter(entries), tree) is None
    tampered = list(entries)
    tampered[66_000] = b"forged"
    assert find_first_mismatch(tampered, tree) == 66_000
    assert find_first_mismatch(entries[:65_536], tree) == 65_536
    assert find_first_mismatch(entries + [b"extra"], tree) == 70_000
    assert find_first_mismatch([], MerkleTree()) is None


# --- persistent state ---------------------------------------------------------

def test_appends_across_several_sessions_restore_the_same_roots_and_proofs_as_in_memory(tmp_path):
    memory = MerkleTree()
    batches = [ENTRIES[:1], ENTRIES[1:2], ENTRIES[2:37], ENTRIES[37:64], ENTRIES[64:65], ENTRIES[65:130]]
    for batch in batches:
        with MerkleTree(tmp_path / "log") as disk:
            assert disk.size == memory.size
            for entry in batch[:3]:
                assert disk.append(entry) == memory.append(entry)
            disk.append_many(batch[3:])
            memory.append_many(batch[3:])
            disk.sync()
    with MerkleTree(tmp_path / "log") as disk:
        assert disk.size == 130
        for n in range(131):
            assert disk.root(n) == memory.root(n) == ref_mth(ENTRIES[:n])
        assert disk.inclusion_proof(77, 100) == memory.inclusion_proof(77, 100)
        assert disk.consistency_proof(37, 129) == memory.consistency_proof(37, 129)
    levels = sorted(os.listdir(tmp_path / "log"))
    assert levels == ["level-00.bin", "level-01.bin", "level-02.bin", "level-03.bin",
                      "level-04.bin", "level-05.bin", "level-06.bin", "level-07.bin", "lock"]
    assert os.path.getsize(tmp_path / "log" / "level-00.bin") == 130 * 32
    assert os.path.getsize(tmp_path / "log" / "level-07.bin") == 1 * 32


def _persisted(path, n: int = 100) -> None:
    with MerkleTree(path) as tree:
        tree.append_many(ENTRIES[:n])


def test_a_level_file_cut_mid_record_raises_a_clear_error_naming_the_file(tmp_path):
    _persisted(tmp_path)
    with open(tmp_path / "level-00.bin", "r+b") as fh:
        fh.truncate(100 * 32 - 5)
    with pytest.raises(StateError, match=r"level-00\.bin: length 3195 bytes is not a multiple of 32"):
        MerkleTree(tmp_path)


def test_a_level_file_missing_whole_records_raises_a_clear_error_naming_the_file(tmp_path):
    _persisted(tmp_path)
    with open(tmp_path / "level-02.bin", "r+b") as fh:
        fh.truncate(24 * 32)
    with pytest.raises(StateError, match=r"level-02\.bin: holds 24 records, but the tree needs 25; the file is truncated or corrupt"):
        MerkleTree(tmp_path)


def test_a_level_file_cut_mid_record_above_the_leaves_raises_a_clear_error(tmp_path):
    _persisted(tmp_path)
    with open(tmp_path / "level-01.bin", "r+b") as fh:
        fh.truncate(50 * 32 - 1)
    with pytest.raises(StateError, match=r"level-01\.bin: holds 49 records, but the tree needs 50"):
        MerkleTree(tmp_path)


def test_surplus_upper_records_of_an_interrupted_append_are_dropped_on_reopen(tmp_path):
    _persisted(tmp_path, 100)
    expected = ref_mth(ENTRIES[:100])
    # An append of leaves 100..103 that wrote its upper levels but died before level 0.
    for name, extra in (("level-01.bin", 2), ("level-02.bin", 1)):
        with open(tmp_path / name, "ab") as fh:
            fh.write(b"\xee" * 32 * extra + b"\xee" * 7)
    with MerkleTree(tmp_path) as tree:
        assert tree.size == 100 and tree.root() == expected
        tree.append_many(ENTRIES[100:130])
        assert tree.root() == ref_mth(ENTRIES)
    assert os.path.getsize(tmp_path / "level-01.bin") == 65 * 32


def test_a_failed_write_leaves_the_tree_as_it_was(tmp_path, monkeypatch):
    _persisted(tmp_path, 100)
    with MerkleTree(tmp_path) as tree:
        real_write, calls = os.write, []

        def failing_write(fd, data):
            calls.append(fd)
            if len(calls) == 3:
                raise OSError(28, "No space left on device")
            return real_write(fd, data)

        monkeypatch.setattr(os, "write", failing_write)
        with pytest.raises(OSError, match="No space left"):
            tree.append_many(ENTRIES[100:104])  # writes levels 3 and 2, then fails on level 1
        monkeypatch.setattr(os, "write", real_write)
        assert tree.size == 100 and tree.root() == ref_mth(ENTRIES[:100])
        tree.append_many(ENTRIES[100:130])
    with MerkleTree(tmp_path) as tree:
        assert tree.root() == ref_mth(ENTRIES)


def test_a_missing_level_file_raises_a_clear_error_naming_the_file(tmp_path):
    _persisted(tmp_path)
    os.remove(tmp_path / "level-03.bin")
    with pytest.raises(StateError, match=r"level-03\.bin: missing, but a tree of 100 leaves needs 12"):
        MerkleTree(tmp_path)


def test_a_directory_can_only_be_open_once_at_a_time(tmp_path):
    with MerkleTree(tmp_path), pytest.raises(StateError, match="already open"):
        MerkleTree(tmp_path)
    MerkleTree(tmp_path).close()


def test_a_closed_tree_refuses_further_use(tmp_path):
    tree = MerkleTree(tmp_path)
    tree.close()
    with pytest.raises(StateError, match="closed"):
        tree.append(b"x")


# --- canonical entry encoding -------------------------------------------------

def test_canonical_bytes_sorts_keys_drops_spaces_and_keeps_unicode():
    entry = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "ü"}}
    assert canonical_bytes(entry) == '{"a":{"y":"ü","z":"é"},"b":[1,2.5,null,true]}'.encode()
    assert canonical_bytes(dict(reversed(list(entry.items())))) == canonical_bytes(entry)


def test_canonical_bytes_writes_datetimes_as_utc_iso8601():
    plus_two = dt.timezone(dt.timedelta(hours=2))
    moment = dt.datetime(2024, 5, 1, 14, 30, tzinfo=plus_two)
    assert canonical_bytes({"at": moment}) == b'{"at":"2024-05-01T12:30:00.000000Z"}'
    same = dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone.utc)
    assert canonical_bytes({"at": same}) == canonical_bytes({"at": moment})
    assert canonical_bytes({"day": dt.date(2024, 5, 1)}) == b'{"day":"2024-05-01"}'


@pytest.mark.parametrize("value,message", [
    ({"at": dt.datetime(2024, 1, 1)}, r"\$\.at: datetime .* has no time zone"),
    ({"x": float("nan")}, r"\$\.x: nan has no JSON encoding"),
    ({"x": {1: "a"}}, r"\$\.x: key 1 is not a string"),
    ({"x": [b"raw"]}, r"\$\.x\[0\]: bytes is not a plain JSON value"),
    ({"x": "\ud800"}, "not valid UTF-8"),
])
def test_canonical_bytes_rejects_values_without_one_canonical_form(value, message):
    with pytest.raises(MerkleError, match=message):
        canonical_bytes(value)


def test_canonical_bytes_requires_a_mapping():
    with pytest.raises(TypeError, match="entry must be a mapping"):
        canonical_bytes([1, 2])
