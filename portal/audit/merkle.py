"""Tamper-evident append-only log core (Certificate-Transparency style).

Hashing follows RFC 6962 section 2.1: leaf hash = SHA-256(0x00 || entry),
node hash = SHA-256(0x01 || left || right), and the Merkle Tree Hash of n
leaves splits at the largest power of two smaller than n.  Proofs are the
RFC 6962 audit paths / consistency proofs; the verifiers implement the
RFC 9162 sections 2.1.3.2 and 2.1.4.2 algorithms, so any CT-style client can
check what this module produces.

``MerkleTree`` stores every complete subtree hash by level (level h holds one
32-byte record per complete run of 2**h leaves), either in memory or in one
append-only file per level.  Appends cost O(1) amortised hashes, and the root,
inclusion proof or consistency proof for *any* tree size up to the current one
costs O(log n) record reads: an incomplete right edge is folded from at most
log2(n) stored subtree hashes.

Why not the ``pymerkle`` package (7.0.0 was evaluated): its hashing is RFC 6962
compatible, but it stores no interior nodes; subtree hashes are recomputed from
the leaves on demand behind an LRU cache, so a cold inclusion proof is O(n)
(measured 173 ms at 300k leaves, i.e. seconds at 10M against a 5 ms target),
its SQLite backend appends about 1.5k entries/s one at a time, and its proofs use
a library-specific (rule, subset, path) layout instead of the RFC 9162 audit
path.  The tests still use it, when installed, as an independent cross-check.

Everything here is stdlib only and never imports streamlit.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import json
import math
import os
import threading
from collections.abc import Iterable, Mapping
from itertools import islice

__all__ = [
    "EMPTY_ROOT", "HASH_SIZE", "MerkleError", "ProofError", "StateError",
    "MerkleTree", "RootBuilder", "canonical_bytes", "find_first_mismatch",
    "leaf_hash", "node_hash", "root_from_entries", "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
_sha256 = hashlib.sha256
EMPTY_ROOT = _sha256(b"").digest()
_CHUNK = 1 << 16  # leaves handled per batch by bulk operations


class MerkleError(ValueError):
    """Base error of the log core; the message says exactly what failed."""


class ProofError(MerkleError):
    """A proof, root or leaf hash did not verify."""


class StateError(MerkleError):
    """Stored tree state is missing, truncated, inconsistent or locked."""


def leaf_hash(entry: bytes) -> bytes:
    """RFC 6962 leaf hash: SHA-256(0x00 || entry)."""
    if not isinstance(entry, (bytes, bytearray, memoryview)):
        raise TypeError(f"entry must be bytes, got {type(entry).__name__}")
    return _sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 6962 interior node hash: SHA-256(0x01 || left || right)."""
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def _check_size(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise MerkleError(f"{name} must not be negative, got {value}")
    return value


def _check_hash(name: str, value: object) -> bytes:
    if not isinstance(value, (bytes, bytearray)) or len(value) != HASH_SIZE:
        got = f"{len(value)} bytes" if isinstance(value, (bytes, bytearray)) else type(value).__name__
        raise ProofError(f"{name} must be a {HASH_SIZE}-byte hash, got {got}")
    return bytes(value)


def _check_path(proof: object, expected: int, what: str) -> list[bytes]:
    if isinstance(proof, (bytes, bytearray, str)) or not isinstance(proof, Iterable):
        raise ProofError(f"{what} must be a sequence of hashes, got {type(proof).__name__}")
    path = [_check_hash(f"hash {i} of {what}", p) for i, p in enumerate(proof)]
    if len(path) != expected:
        raise ProofError(f"{what} has {len(path)} hashes, expected {expected}")
    return path


def _fold(peaks: list[bytes]) -> bytes:
    """Combine complete-subtree hashes (left to right, decreasing size)."""
    result = peaks[-1]
    for peak in reversed(peaks[:-1]):
        result = node_hash(peak, result)
    return result


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Iterable[bytes], root: bytes) -> None:
    """Check an audit path (RFC 9162 2.1.3.2); raise ProofError unless it holds."""
    leaf_hash = _check_hash("leaf hash", leaf_hash)
    root = _check_hash("root hash", root)
    _check_size("leaf index", index)
    _check_size("tree size", size)
    if index >= size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    inner = (index ^ (size - 1)).bit_length()
    path = _check_path(proof, inner + bin(index >> inner).count("1"),
                       f"inclusion proof for leaf {index} in a tree of size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is high")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is high")
    if not hmac.compare_digest(r, root):
        raise ProofError(f"inclusion proof for leaf {index} leads to root {r.hex()}, "
                         f"not the expected {root.hex()} (tree size {size})")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Iterable[bytes]) -> None:
    """Check a consistency proof (RFC 9162 2.1.4.2); raise ProofError unless it holds.

    Size 0 is consistent with everything, but its root must be EMPTY_ROOT.
    """
    old_root = _check_hash("old root hash", old_root)
    new_root = _check_hash("new root hash", new_root)
    _check_size("old size", old_size)
    _check_size("new size", new_size)
    what = f"consistency proof from size {old_size} to {new_size}"
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size or old_size == 0:
        _check_path(proof, 0, what)
        if old_size == 0 and not hmac.compare_digest(old_root, EMPTY_ROOT):
            raise ProofError("old root of an empty tree must be SHA-256 of the empty string")
        if old_size == new_size and not hmac.compare_digest(old_root, new_root):
            raise ProofError(f"roots differ for the same tree size {old_size}")
        return
    inner = ((old_size - 1) ^ (new_size - 1)).bit_length()
    shift = (old_size & -old_size).bit_length() - 1
    border = bin((old_size - 1) >> inner).count("1")
    power_of_two = old_size == 1 << shift
    path = _check_path(proof, inner - shift + border + (0 if power_of_two else 1), what)
    if power_of_two:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"{what} is longer than the tree is high")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"{what} is shorter than the tree is high")
    if not hmac.compare_digest(fr, old_root):
        raise ProofError(f"{what} leads to old root {fr.hex()}, not the expected {old_root.hex()}")
    if not hmac.compare_digest(sr, new_root):
        raise ProofError(f"{what} leads to new root {sr.hex()}, not the expected {new_root.hex()}")


class _MemLevel:
    def __init__(self) -> None:
        self.data = bytearray()
        self.n = 0

    def read(self, start: int, count: int) -> bytes:
        return bytes(self.data[start * HASH_SIZE:(start + count) * HASH_SIZE])

    def extend(self, blob: bytes) -> None:
        self.data += blob
        self.n += len(blob) // HASH_SIZE

    def truncate(self, n: int) -> None:
        del self.data[n * HASH_SIZE:]
        self.n = n

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass


class _FileLevel:
    def __init__(self, path: str, need: int | None = None) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        length = os.fstat(self.fd).st_size
        self.n = length // HASH_SIZE
        if need is None and length % HASH_SIZE:
            os.close(self.fd)
            raise StateError(f"{path}: length {length} bytes is not a multiple of "
                             f"{HASH_SIZE}; the file is truncated or corrupt")
        if need is not None and self.n < need:
            os.close(self.fd)
            raise StateError(f"{path}: holds {self.n} records, but the tree needs {need}; "
                             "the file is truncated or corrupt")
        if need is not None and length > need * HASH_SIZE:
            # Surplus derived hashes of an append interrupted before its leaves were written.
            os.ftruncate(self.fd, need * HASH_SIZE)
            self.n = need

    def read(self, start: int, count: int) -> bytes:
        data = os.pread(self.fd, count * HASH_SIZE, start * HASH_SIZE)
        if len(data) != count * HASH_SIZE:
            raise StateError(f"{self.path}: short read of records {start}..{start + count - 1}; "
                             "the file was truncated while open")
        return data

    def extend(self, blob: bytes) -> None:
        view = memoryview(blob)
        while view:
            view = view[os.write(self.fd, view):]
        self.n += len(blob) // HASH_SIZE

    def truncate(self, n: int) -> None:
        os.ftruncate(self.fd, n * HASH_SIZE)
        self.n = n

    def sync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


class MerkleTree:
    """Append-only RFC 6962 tree; ``directory=None`` keeps it in memory.

    On disk: ``level-NN.bin`` files of 32-byte records plus a ``lock`` file
    holding an exclusive flock while the tree is open (one writer per
    directory).  Writes go straight to the files (they survive a process
    crash); call ``sync()`` to fsync them.  Level 0 is written last, so an
    append cut short leaves only surplus upper-level records, dropped on open;
    a short or missing file raises StateError naming it.
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self._lock = threading.RLock()
        self._dir = None if directory is None else os.fspath(directory)
        self._lock_fd = None
        if self._dir is None:
            self._levels: list = [_MemLevel()]
            return
        import fcntl  # POSIX only; imported here so in-memory use stays portable

        os.makedirs(self._dir, exist_ok=True)
        self._lock_fd = os.open(os.path.join(self._dir, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self._lock_fd)
            raise StateError(f"{self._dir}: tree is already open elsewhere (lock file held)") from None
        self._levels = []
        try:
            self._levels.append(_FileLevel(self._path(0)))
            size = self._levels[0].n
            h = 1
            while h < size.bit_length() or os.path.exists(self._path(h)):
                if not os.path.exists(self._path(h)):
                    raise StateError(f"{self._path(h)}: missing, but a tree of {size} leaves needs "
                                     f"{size >> h} records in it")
                self._levels.append(_FileLevel(self._path(h), need=size >> h))
                h += 1
        except BaseException:
            self.close()
            raise

    def _path(self, level: int) -> str:
        assert self._dir is not None  # only a tree kept in files has level files
        return os.path.join(self._dir, f"level-{level:02d}.bin")

    def __enter__(self) -> "MerkleTree":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Release files and the directory lock (no-op in memory)."""
        with self._lock:
            for level in self._levels:
                level.close()
            self._levels = []
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the descriptor drops the flock
                self._lock_fd = None

    def sync(self) -> None:
        """fsync every level file."""
        with self._lock:
            for level in self._levels:
                level.sync()

    @property
    def size(self) -> int:
        """Number of leaves."""
        with self._lock:
            if not self._levels:
                raise StateError("tree is closed")
            return self._levels[0].n

    def append(self, entry: bytes) -> int:
        """Append one entry; return its leaf index."""
        return self._append_blob(leaf_hash(entry)).start

    def append_many(self, entries: Iterable[bytes]) -> range:
        """Append entries in order; return the range of their leaf indexes.

        Batches of 65,536 are applied atomically: if a later batch fails (bad
        entry type, I/O error) the earlier ones stay appended.
        """
        return self.append_leaf_hashes(leaf_hash(e) for e in entries)

    def append_leaf_hashes(self, hashes: Iterable[bytes] | bytes) -> range:
        """Append precomputed leaf hashes (an iterable, or one concatenated blob);
        same batching as ``append_many``."""
        if isinstance(hashes, (bytes, bytearray, memoryview)):
            blob = bytes(hashes)
            if len(blob) % HASH_SIZE:
                raise MerkleError(f"leaf hash blob of {len(blob)} bytes is not a multiple of {HASH_SIZE}")
            return self._append_blob(blob)
        with self._lock:
            first = self.size
            it = iter(hashes)
            while batch := list(islice(it, _CHUNK)):
                for i, h in enumerate(batch):
                    if len(h) != HASH_SIZE:
                        raise MerkleError(f"leaf hash {first + i} has {len(h)} bytes, expected {HASH_SIZE}")
                self._append_blob(b"".join(batch))
            return range(first, self.size)

    def _append_blob(self, blob: bytes) -> range:
        with self._lock:
            first = self.size
            pending, h, new = [], 0, blob
            while new:
                if h == len(self._levels):
                    self._levels.append(_FileLevel(self._path(h)) if self._dir else _MemLevel())
                level = self._levels[h]
                pending.append((level, new))
                old = level.n
                parents = ((old + len(new) // HASH_SIZE) >> 1) - (old >> 1)
                src = level.read(old - 1, 1) + new if old & 1 else new
                new = b"".join([_sha256(b"\x01" + src[i:i + 64]).digest()
                                for i in range(0, parents * 64, 64)])
                h += 1
            # Highest level first: level 0 (the size) only grows once its parents exist.
            done = []
            try:
                for level, data in reversed(pending):
                    done.append((level, level.n))
                    level.extend(data)
            except BaseException:
                for level, n in done:  # e.g. disk full: keep the tree as it was
                    level.truncate(n)
                raise
            return range(first, self.size)

    def _resolve(self, size: int | None) -> int:
        current = self.size
        if size is None:
            return current
        if _check_size("tree size", size) > current:
            raise MerkleError(f"tree size {size} is larger than the current size {current}")
        return size

    def _subtree(self, start: int, end: int) -> bytes:
        """Hash of the RFC 6962 subtree over leaves [start, end); O(log n) reads."""
        peaks = []
        while start < end:
            h = (end - start).bit_length() - 1
            peaks.append(self._levels[h].read(start >> h, 1))
            start += 1 << h
        return _fold(peaks)

    def leaf_hash(self, index: int) -> bytes:
        """Stored leaf hash at index."""
        with self._lock:
            if _check_size("leaf index", index) >= self.size:
                raise MerkleError(f"leaf index {index} is outside a tree of size {self.size}")
            return self._levels[0].read(index, 1)

    def root(self, size: int | None = None) -> bytes:
        """Merkle Tree Hash of the first ``size`` leaves (default: all)."""
        with self._lock:
            size = self._resolve(size)
            return self._subtree(0, size) if size else EMPTY_ROOT

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """RFC 6962 audit path for leaf ``index`` in the tree of ``size`` leaves."""
        with self._lock:
            size = self._resolve(size)
            if _check_size("leaf index", index) >= size:
                raise MerkleError(f"leaf index {index} is outside a tree of size {size}")
            path, start, end = [], 0, size
            while end - start > 1:
                k = _split(end - start)
                if index < start + k:
                    path.append(self._subtree(start + k, end))
                    end = start + k
                else:
                    path.append(self._subtree(start, start + k))
                    start += k
            path.reverse()
            return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """RFC 6962 consistency proof between two sizes (empty if old is 0 or equal)."""
        with self._lock:
            new_size = self._resolve(new_size)
            if _check_size("old size", old_size) > new_size:
                raise MerkleError(f"old size {old_size} is larger than new size {new_size}")
            if old_size in (0, new_size):
                return []
            path, start, end, m, complete = [], 0, new_size, old_size, True
            while m != end - start:
                k = _split(end - start)
                if m <= k:
                    path.append(self._subtree(start + k, end))
                    end = start + k
                else:
                    path.append(self._subtree(start, start + k))
                    start, m, complete = start + k, m - k, False
            if not complete:
                path.append(self._subtree(start, end))
            path.reverse()
            return path

    def read_leaf_hashes(self, start: int, count: int) -> bytes:
        """``count`` stored leaf hashes from ``start``, concatenated."""
        with self._lock:
            if _check_size("start", start) + _check_size("count", count) > self.size:
                raise MerkleError(f"leaves {start}..{start + count - 1} are outside a tree of size {self.size}")
            return self._levels[0].read(start, count)


class RootBuilder:
    """Streaming Merkle Tree Hash in O(log n) memory (a compact range)."""

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[bytes] = []

    def add_leaf_hash(self, h: bytes) -> None:
        n, peaks = self.size, self._peaks
        while n & 1:
            h = _sha256(b"\x01" + peaks.pop() + h).digest()
            n >>= 1
        peaks.append(h)
        self.size += 1

    def add(self, entry: bytes) -> None:
        self.add_leaf_hash(_sha256(b"\x00" + entry).digest())

    def root(self) -> bytes:
        return _fold(self._peaks) if self._peaks else EMPTY_ROOT


def root_from_entries(entries: Iterable[bytes]) -> tuple[int, bytes]:
    """Recompute (size, root) from raw entries, streaming."""
    builder = RootBuilder()
    add = builder.add
    for entry in entries:
        add(entry)
    return builder.size, builder.root()


def find_first_mismatch(entries: Iterable[bytes], tree: MerkleTree) -> int | None:
    """First index whose recomputed leaf hash differs from ``tree``, or where
    one side runs out before the other; None if entries and tree agree."""
    size, index, it = tree.size, 0, iter(entries)
    while batch := list(islice(it, _CHUNK)):
        avail = min(len(batch), size - index)
        stored = tree.read_leaf_hashes(index, avail)
        computed = b"".join([_sha256(b"\x00" + e).digest() for e in batch[:avail]])
        if computed != stored:
            return index + next(j for j in range(avail)
                                if computed[j * 32:j * 32 + 32] != stored[j * 32:j * 32 + 32])
        if avail < len(batch):
            return size
        index += avail
    return None if index == size else index


def _plain(value: object, where: str) -> object:
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MerkleError(f"{where}: {value!r} has no JSON encoding")
        return value
    if isinstance(value, _dt.datetime):
        if value.utcoffset() is None:
            raise MerkleError(f"{where}: datetime {value.isoformat()} has no time zone")
        utc = value.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return utc.isoformat(timespec="microseconds") + "Z"
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        for key in value:
            if not isinstance(key, str):
                raise MerkleError(f"{where}: key {key!r} is not a string")
        return {k: _plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise MerkleError(f"{where}: {type(value).__name__} is not a plain JSON value")


def canonical_bytes(mapping: Mapping) -> bytes:
    """Canonical UTF-8 JSON of a mapping of plain values (sorted keys, no
    spaces, non-ASCII kept, datetimes as ISO-8601 UTC with microseconds and Z)."""
    if not isinstance(mapping, Mapping):
        raise TypeError(f"entry must be a mapping, got {type(mapping).__name__}")
    text = json.dumps(_plain(mapping, "$"), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False, allow_nan=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MerkleError(f"entry contains text that is not valid UTF-8: {exc}") from None
