"""Tells every process that cached copies must go: an erasure run from the CLI
cannot reach into the running portal's memory, so it leaves a new epoch in the
data directory and each process drops its caches when it sees one.
"""

from __future__ import annotations

import os
import secrets
import threading
from pathlib import Path

EPOCH_FILE = "cache-epoch"


def bump(data_dir: Path) -> str:
    """Start a new epoch (atomically) and return it."""
    epoch = secrets.token_hex(8)
    path = Path(data_dir) / EPOCH_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(epoch)
    os.replace(tmp, path)
    return epoch


def current(data_dir: Path) -> str | None:
    try:
        return (Path(data_dir) / EPOCH_FILE).read_text()
    except FileNotFoundError:
        return None


class Watcher:
    """Remembers the epoch this process last saw; :meth:`changed` is true once per new epoch."""

    def __init__(self) -> None:
        self._seen: dict[Path, str | None] = {}
        self._lock = threading.Lock()

    def changed(self, data_dir: Path) -> bool:
        key = Path(data_dir).resolve()
        epoch = current(key)
        with self._lock:
            if key not in self._seen:
                self._seen[key] = epoch
                return False
            if self._seen[key] == epoch:
                return False
            self._seen[key] = epoch
            return True
