"""Tells every process that cached copies must go.

An erasure or a retention run from the CLI, or from another replica, cannot reach into a running
portal's memory. So it starts a new *epoch* in the metadata DB (table ``cache_epochs``), which every
replica shares, and each process drops its in-memory caches when it sees one: the portal looks on
every request (one primary-key read). Stored copies (rollups, releases) live beside the lake and are
pruned by the run itself, so nothing derived from an erased person's rows survives in any process.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import db

LAKE = "lake"  # the epoch of everything derived from the telemetry lake


def bump(engine: Engine, name: str = LAKE) -> str:
    """Start a new epoch and return it."""
    epoch = secrets.token_hex(8)
    table = db.cache_epochs
    with engine.begin() as conn:
        changed = conn.execute(sa.update(table).where(table.c.name == name).values(
            epoch=epoch, changed_at=datetime.now(UTC))).rowcount
        if not changed:
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(table).values(name=name, epoch=epoch, changed_at=datetime.now(UTC)))
            except sa.exc.IntegrityError:  # another process made the row meanwhile: take it over
                conn.execute(sa.update(table).where(table.c.name == name).values(
                    epoch=epoch, changed_at=datetime.now(UTC)))
    return epoch


def current(engine: Engine, name: str = LAKE) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(db.cache_epochs.c.epoch).where(db.cache_epochs.c.name == name)).scalar()


class Watcher:
    """Remembers the epoch this process last saw; :meth:`changed` is true once per new epoch."""

    def __init__(self) -> None:
        self._seen: dict[str, str | None] = {}
        self._lock = threading.Lock()

    def changed(self, engine: Engine, name: str = LAKE) -> bool:
        key = f"{engine.url.render_as_string(hide_password=False)}#{name}"
        epoch = current(engine, name)
        with self._lock:
            if key not in self._seen:
                self._seen[key] = epoch
                return False
            if self._seen[key] == epoch:
                return False
            self._seen[key] = epoch
            return True
