"""One registry of derived copies: every context that keeps one registers it, and forgetting drops them all."""

from __future__ import annotations

import subprocess
import sys

from portal.core import caches


class Holder:
    def __init__(self) -> None:
        self.forgotten = 0

    def forget(self) -> None:
        self.forgotten += 1


def test_forgetting_drops_every_registered_cache_and_every_held_object():
    dropped: list[object] = []
    caches.register("test-cache", "a test's copy", dropped.append)
    holder = Holder()
    caches.hold(holder, "a test holder's copy")
    try:
        said = caches.forget()
        assert dropped == [None]
        assert holder.forgotten == 1
        assert "a test's copy" in said and "a test holder's copy" in said
    finally:
        with caches._lock:
            caches._caches.pop("test-cache")


def test_a_held_object_is_let_go_when_nothing_else_holds_it():
    holder = Holder()
    caches.hold(holder, "short-lived")
    del holder
    assert "short-lived" not in caches.forget()


def test_a_process_that_opens_the_stores_knows_every_copy_erasure_must_drop():
    # A fresh interpreter, as the CLI or the portal starts: importing the composition root registers all.
    code = ("import portal.bootstrap\nfrom portal.core import caches\n"
            "print(sorted(c.name for c in caches.registered()))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['exposure', 'releases', 'rollups']"

