"""The one list of copies the portal keeps of data it derived from the stores, and how each is dropped.

Contexts that keep such a copy (in memory, or stored beside the lake) register it here when they are
imported: a name, what it holds in words, and a function that drops it. Erasure calls :func:`forget`
with the settings of the store it erased from, so that no copy of an erased person's data outlives
the erasure; a portal process that sees a new cache epoch (:mod:`portal.core.cache_epoch`) calls it
without settings and drops what it holds in memory.

A context registers when its module is imported. The composition root (``portal.bootstrap``) imports
every context that registers, so any process that opens the stores (the portal, the CLI, the tests
that use ``bootstrap.build``) has the whole list; ``tests/unit/core/test_caches.py`` holds that to true.
Objects that cache per instance (the telemetry store's file lists) register with :func:`hold`.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from portal.core.settings import Settings


class Forgetful(Protocol):
    def forget(self) -> None: ...


@dataclass(frozen=True)
class Cache:
    name: str
    holds: str
    drop: Callable[[Settings | None], object]


_lock = threading.Lock()
_caches: dict[str, Cache] = {}
_holders: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def register(name: str, holds: str, drop: Callable[[Settings | None], object]) -> None:
    """Register a cache. ``drop(None)`` drops the in-memory copy; ``drop(settings)`` also the copies
    stored under those settings' data directory. Registering a name again replaces it (a reloaded module)."""
    with _lock:
        _caches[name] = Cache(name, holds, drop)


def hold(holder: Forgetful, holds: str) -> None:
    """Remember an object whose ``forget()`` drops what it caches (``holds``, in words); the registry
    lets go of it when nothing else holds it."""
    with _lock:
        _holders[holder] = holds


def registered() -> tuple[Cache, ...]:
    with _lock:
        return tuple(_caches.values())


def forget(settings: Settings | None = None) -> list[str]:
    """Drop every registered cache (memory; with ``settings`` also the stored copies) and every held
    object's; returns what was dropped, in words, for the erasure record."""
    with _lock:
        caches = tuple(_caches.values())
        holders = list(_holders.items())
    dropped = []
    for holder, holds in holders:
        holder.forget()
        if holds not in dropped:
            dropped.append(holds)
    for cache in caches:
        cache.drop(settings)
        dropped.append(cache.holds)
    return dropped
