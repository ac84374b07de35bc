"""Published releases of works-council figures, computed once per input state.

A release is one family of views as :func:`portal.council.aggregates.publish` returns
it (suppressed, and noised when configured). It is keyed by everything it was
computed from; while the key stays the same every reader (each page session,
the command line, a download, every replica) gets the very same figures, from
memory or from ``<name>.parquet`` in the release store: a derived store of the
lake (:meth:`portal.core.lake_location.LakeLocation.derived`), ``data_dir/releases``
beside a local lake (owner-only files, written atomically) and
``<lake>/_portal/releases`` beside a lake on object storage, where every replica
shares it and an erasure run from one removes it for all.

Why store them: with differential-privacy noise on, a fresh draw per request
would let anyone average the noise away by reloading, and the command would
print other figures than the page. What is stored is published output only
(no person identifiers, no cell under k); a newer key replaces the file, and
:func:`forget` removes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from portal.core.lake_location import LakeLocation

_VIEW = "__view"


@dataclass(frozen=True)
class Release:
    """One published family of views: ``views[view]`` as returned by ``aggregates.publish``."""

    name: str
    views: dict[tuple[str, ...], pl.DataFrame]
    k: int
    epsilon: float | None
    key: str
    created_at: datetime
    empty_message: str | None = None

    @property
    def noisy(self) -> bool:
        return self.epsilon is not None

    @property
    def empty(self) -> bool:
        return self.empty_message is not None

    def view(self, dimensions: Sequence[str]) -> pl.DataFrame:
        try:
            return self.views[tuple(dimensions)]
        except KeyError:
            known = "; ".join(",".join(v) or "(total)" for v in self.views)
            raise KeyError(f"the {self.name} release has no view {tuple(dimensions)!r}; it has: {known}") from None


def key(parts: object) -> str:
    """A stable hash of what a release is computed from."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


_lock = threading.Lock()
_memory: dict[tuple[str, str], Release] = {}


def store_at(data_dir: Path) -> LakeLocation:
    """The release store beside a local lake in ``data_dir`` (``data_dir/releases``)."""
    return LakeLocation(str(Path(data_dir) / "lake"), Path(data_dir)).derived("releases")


def _file(name: str) -> str:
    return f"{name}.parquet"


def _slot(where: LakeLocation, name: str) -> tuple[str, str]:
    root = where.root if not where.is_local else str(Path(where.root).resolve())
    return root, name


def cached(where: LakeLocation, name: str, release_key: str, dims: Sequence[str],
           compute: Callable[[], dict[tuple[str, ...], pl.DataFrame]], k: int, epsilon: float | None) -> Release:
    """The release ``name`` for ``release_key``: from memory, from the store ``where``, or computed and stored."""
    found = lookup(where, name, release_key, dims)
    if found is not None:
        return found
    return keep(where, Release(name, compute(), k, epsilon, release_key, datetime.now(UTC)), dims)


def lookup(where: LakeLocation, name: str, release_key: str, dims: Sequence[str]) -> Release | None:
    """The release ``name`` for ``release_key`` from memory or from the store ``where``; None when neither holds it."""
    slot = _slot(where, name)
    with _lock:
        found = _memory.get(slot)
    if found is not None and found.key == release_key:
        return found
    release = _load(where, name, release_key, dims)
    if release is not None:
        with _lock:
            _memory[slot] = release
    return release


def keep(where: LakeLocation, release: Release, dims: Sequence[str]) -> Release:
    """Store ``release`` under ``where`` and keep it in memory; returns it."""
    _store(where, release, dims)
    with _lock:
        _memory[_slot(where, release.name)] = release
    return release


def forget(where: LakeLocation | Path | None, names: Sequence[str]) -> None:
    """Drop every release from memory, and the stored ``names`` in the store ``where`` (a data directory's
    path stands for the store beside its local lake)."""
    with _lock:
        _memory.clear()
    if where is None:
        return
    store = store_at(where) if isinstance(where, Path) else where
    for name in names:
        store.delete(store.path(_file(name)))


def _store(where: LakeLocation, release: Release, dims: Sequence[str]) -> None:
    """Write the release in one piece (atomic and owner-only on a local disk, one PUT on object storage);
    a store that cannot be written only costs recomputation."""
    frames = []
    for view, frame in release.views.items():
        missing = [pl.lit(None, dtype=pl.String).alias(d) for d in dims if d not in frame.columns]
        frames.append(frame.with_columns(missing).with_columns(pl.lit(",".join(view)).alias(_VIEW)))
    table = pl.concat(frames, how="diagonal_relaxed").to_arrow()
    meta = {"key": release.key, "created_at": release.created_at.isoformat(), "k": str(release.k),
            "epsilon": "" if release.epsilon is None else repr(release.epsilon),
            "views": json.dumps([list(v) for v in release.views])}
    table = table.replace_schema_metadata({f"portal.{k}": v for k, v in meta.items()})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    with suppress(OSError):
        where.write_bytes(sink.getvalue(), _file(release.name))


def _load(where: LakeLocation, name: str, release_key: str, dims: Sequence[str]) -> Release | None:
    try:
        table = pq.read_table(io.BytesIO(where.read_bytes(_file(name))))
        meta = {k.decode().removeprefix("portal."): v.decode() for k, v in (table.schema.metadata or {}).items()}
        if meta.get("key") != release_key:
            return None
        frame = cast(pl.DataFrame, pl.from_arrow(table))  # a table gives a frame
        views = {}
        for view in (tuple(v) for v in json.loads(meta["views"])):
            part = frame.filter(pl.col(_VIEW) == ",".join(view))
            views[view] = part.select(*view, *[c for c in part.columns if c not in dims and c != _VIEW])
        epsilon = float(meta["epsilon"]) if meta.get("epsilon") else None
        return Release(name, views, int(meta["k"]), epsilon, release_key, datetime.fromisoformat(meta["created_at"]))
    except (OSError, pa.ArrowInvalid, KeyError, ValueError, pl.exceptions.PolarsError):
        return None  # missing or unreadable: recompute
