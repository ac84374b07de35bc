"""Owner-only files: what the portal stores is 0600 in 0700 directories, whatever the umask.

The data directory holds personal data: telemetry in the lake and its Delta log,
the metadata DB (with SQLite's ``-wal`` and ``-shm``), rollups, copies, keys, the
audit log and releases. Under a usual umask of 0o022 every one of them would be
readable by every account on the machine. Three things keep them private:

* The portal's entry points (the ``portal`` command, the Streamlit app, the demo's
  child processes) set the process umask to 0o077 with :func:`restrict_process`.
  Code that creates files without naming a mode then makes them owner-only. That
  covers delta-rs, measured: it creates data files, log entries and checkpoints
  with 0666 and partition directories with 0777, minus the umask, like SQLite.
* Writers that library callers may run in a process with a looser umask (seeding
  a company) hold :func:`owner_only` while they write.
* The data directory itself is made 0700 (:func:`private_dir`), and the SQLite file
  is created 0600 before SQLite opens it (:func:`private_file`): SQLite gives its
  ``-wal`` and ``-shm`` files the mode of the database file.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

OWNER_ONLY_UMASK = 0o077
FILE_MODE = 0o600
DIR_MODE = 0o700

_lock = threading.Lock()
_depth = 0
_saved_umask: int | None = None


def restrict_process() -> None:
    """Make every file this process creates from now on owner-only (umask 0o077)."""
    global _saved_umask
    with _lock:
        os.umask(OWNER_ONLY_UMASK)
        if _depth:
            _saved_umask = OWNER_ONLY_UMASK  # an owner_only block ending later keeps it


@contextmanager
def owner_only() -> Iterator[None]:
    """Umask 0o077 while the block runs; the caller's umask afterwards.

    The umask belongs to the whole process, so nested and concurrent blocks share
    one count: only the last to leave restores it (and keeps the tight one if
    :func:`restrict_process` ran meanwhile).
    """
    global _depth, _saved_umask
    with _lock:
        if _depth == 0:
            _saved_umask = os.umask(OWNER_ONLY_UMASK)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _saved_umask is not None:
                    os.umask(_saved_umask)
                _saved_umask = None


def _tighten(path: Path, mode: int) -> None:
    """chmod ``path`` to ``mode`` if this process owns it; symbolic links are left alone."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return
    if stat.S_IMODE(info.st_mode) != mode:
        os.chmod(path, mode)


def private_dir(path: Path | str) -> Path:
    """Create ``path`` (with any missing parents) and make it 0700, also when it existed."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path | str) -> Path:
    """Create ``path`` empty and 0600 unless it exists; an existing one we own becomes 0600."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        _tighten(path, FILE_MODE)
    else:
        os.close(fd)
    return path


def tighten_if_present(path: Path | str) -> None:
    """Make an existing file we own 0600; a missing one is fine."""
    with suppress(FileNotFoundError):
        _tighten(Path(path), FILE_MODE)
