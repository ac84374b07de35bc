"""The write lock of a telemetry table, held by appends, erasure and retention.

Delta commits are safe against each other on their own: delta-rs writes a commit with a conditional
PUT (``If-None-Match``) on object storage and an atomic create on a local disk, so of two writers
that race for the same version one fails and retries. What a commit cannot protect is the erasure's
*full vacuum* (it deletes every file the current version does not reference, including the data
files of an append that has written them but not yet committed) and its log cleanup (an append
checking for conflicts would find the commits it reads gone). So one table has one writer at a time:

* **a local lake**: an exclusive ``flock`` on ``<lake>/.locks/<table>.lock`` (processes on this host,
  and shared file systems with POSIX locks);
* **a lake on object storage with PostgreSQL as the metadata DB** (replicas): a PostgreSQL session
  advisory lock, ``pg_advisory_lock(<key of the lake and table>)``, held on a connection of its own
  for as long as the write runs. Every replica shares the database, so the lock spans them; a
  process that dies releases it with its connection;
* **a lake on object storage with SQLite**: the ``flock`` in the data directory, so one host only
  (SQLite cannot be shared by several hosts anyway).

Writers outside the portal (Spark, Flink) must not write while an erasure runs: they do not take it.
"""

from __future__ import annotations

import fcntl
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from portal.core import file_modes
from portal.core.lake_location import LakeLocation

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


def describe(location: LakeLocation) -> str:
    """Which lock the writers of this lake take, in words."""
    if location.is_local:
        return f"flock on {Path(location.root) / '.locks'}"
    if location.database_url.startswith("postgresql"):
        return "PostgreSQL advisory lock per table (shared by every replica)"
    return f"flock on {location.data_dir / '.locks'} (one host only: SQLite)"


@contextmanager
def table_lock(location: LakeLocation, table_name: str) -> Iterator[None]:
    """Hold the exclusive write lock of one table (or derived store) at ``location``."""
    if not location.is_local and location.database_url.startswith("postgresql"):
        with _advisory(location.database_url, f"{location.root}#{table_name}"):
            yield
        return
    directory = Path(location.root) if location.is_local else location.data_dir
    with _flock(directory / ".locks" / f"{table_name}.lock"):
        yield


@contextmanager
def _flock(path: Path) -> Iterator[None]:
    file_modes.private_dir(path.parent)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _advisory_key(name: str) -> int:
    """A signed 64-bit key from the lake and table (stable across processes and hosts)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


@contextmanager
def _advisory(database_url: str, name: str) -> Iterator[None]:
    with _engines_lock:
        engine = _engines.get(database_url)
        if engine is None:
            engine = _engines[database_url] = create_engine(database_url, poolclass=NullPool)
    key = _advisory_key(name)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()
