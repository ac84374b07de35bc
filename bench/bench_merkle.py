"""Throughput and latency figures for portal.audit.merkle (prints only, never asserts).

    .venv/bin/python bench/bench_merkle.py [--entries N] [--big-size N] [--proofs N]

Targets: >= 50,000 appends/s to a persistent tree, < 5 ms per inclusion proof
at 10,000,000 leaves, >= 500,000 entries/s for full recomputation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal.audit.merkle import (  # noqa: E402
    MerkleTree, canonical_bytes, find_first_mismatch, root_from_entries,
    verify_consistency, verify_inclusion,
)


def _rate(count: int, seconds: float) -> str:
    return f"{count:>12,} in {seconds:7.2f} s = {count / seconds:>12,.0f} /s"


def _entries(n: int) -> list[bytes]:
    base = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    template = {"employee": "e-000000", "source": "badge-reader", "kind": "door_open",
                "at": base, "site": "HQ-3", "detail": {"door": "3.14", "result": "granted"}}
    sample = canonical_bytes(template)
    print(f"entry size ~{len(sample)} bytes: {sample.decode()}")
    t = time.perf_counter()
    k = min(n, 50_000)
    for i in range(k):
        canonical_bytes({**template, "employee": f"e-{i:06d}"})
    print(f"canonical_bytes          {_rate(k, time.perf_counter() - t)}")
    # Same shape, built by formatting so that preparing the data set stays quick.
    return [b'{"at":"2025-01-01T00:00:00.%06dZ","detail":{"door":"3.14","result":"granted"},'
            b'"employee":"e-%06d","kind":"door_open","site":"HQ-3","source":"badge-reader"}'
            % (i % 1_000_000, i) for i in range(n)]


def _proof_times(tree: MerkleTree, size: int, count: int) -> list[float]:
    rng = random.Random(1)
    root = tree.root(size)
    times = []
    for _ in range(count):
        index = rng.randrange(size)
        t = time.perf_counter()
        proof = tree.inclusion_proof(index, size)
        times.append(time.perf_counter() - t)
        verify_inclusion(tree.leaf_hash(index), index, size, proof, root)
    return times


def _ms(times: list[float]) -> str:
    times = sorted(times)
    return (f"median {statistics.median(times) * 1e3:.3f} ms, p99 {times[int(len(times) * 0.99)] * 1e3:.3f} ms, "
            f"max {times[-1] * 1e3:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries appended one by one")
    parser.add_argument("--big-size", type=int, default=10_000_000, help="tree size for proof latency")
    parser.add_argument("--proofs", type=int, default=2_000, help="proofs timed per measurement")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-merkle-") as tmp:
        entries = _entries(args.entries)

        print("\n== appends to a persistent tree ==")
        with MerkleTree(os.path.join(tmp, "single")) as tree:
            append = tree.append
            t = time.perf_counter()
            for entry in entries:
                append(entry)
            tree.sync()
            print(f"append() one at a time   {_rate(len(entries), time.perf_counter() - t)}  (target >= 50,000/s)")
            single_root = tree.root()
        with MerkleTree(os.path.join(tmp, "batch")) as tree:
            t = time.perf_counter()
            tree.append_many(entries)
            tree.sync()
            print(f"append_many()            {_rate(len(entries), time.perf_counter() - t)}")
            assert tree.root() == single_root

        print("\n== full recomputation / verification ==")
        t = time.perf_counter()
        size, root = root_from_entries(entries)
        print(f"root_from_entries()      {_rate(size, time.perf_counter() - t)}  (target >= 500,000/s)")
        with MerkleTree(os.path.join(tmp, "single")) as tree:
            t = time.perf_counter()
            mismatch = find_first_mismatch(entries, tree)
            print(f"find_first_mismatch()    {_rate(size, time.perf_counter() - t)}  (target >= 500,000/s)")
            print(f"recomputed root matches: {root == tree.root()}, first mismatch: {mismatch}")

        print(f"\n== proofs at {args.big_size:,} leaves ==")
        path = os.path.join(tmp, "big")
        with MerkleTree(path) as tree:
            t = time.perf_counter()
            chunk = 1 << 20
            for start in range(0, args.big_size, chunk):
                tree.append_leaf_hashes(os.urandom(32 * min(chunk, args.big_size - start)))
            tree.sync()
            print(f"append_leaf_hashes()     {_rate(args.big_size, time.perf_counter() - t)}")
        t = time.perf_counter()
        with MerkleTree(path) as tree:
            print(f"reopen                   {(time.perf_counter() - t) * 1e3:.2f} ms, size {tree.size:,}")
            n = tree.size
            t = time.perf_counter()
            tree.root()
            print(f"root()                   {(time.perf_counter() - t) * 1e3:.3f} ms")
            print(f"inclusion proof, size {n:,}: {_ms(_proof_times(tree, n, args.proofs))}  (target < 5 ms)")
            older = n - 12_345
            print(f"inclusion proof, older size {older:,}: {_ms(_proof_times(tree, older, args.proofs))}")
            rng = random.Random(2)
            times = []
            for _ in range(args.proofs):
                m = rng.randrange(1, n)
                t = time.perf_counter()
                proof = tree.consistency_proof(m, n)
                old_root = tree.root(m)
                times.append(time.perf_counter() - t)
                verify_consistency(m, n, old_root, tree.root(), proof)
            print(f"consistency proof + old root: {_ms(times)}")
            leaf = tree.leaf_hash(n // 3)
            proof = tree.inclusion_proof(n // 3)
            root = tree.root()
            t = time.perf_counter()
            for _ in range(1000):
                verify_inclusion(leaf, n // 3, n, proof, root)
            print(f"verify_inclusion()       {(time.perf_counter() - t):.3f} ms per call")
        disk = sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path))
        print(f"state on disk: {disk / 2**20:,.0f} MiB for {n:,} leaves ({disk / n:.1f} bytes/leaf)")


if __name__ == "__main__":
    main()
