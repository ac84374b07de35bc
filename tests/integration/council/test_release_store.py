"""Stored releases live in the lake's derived release store: ``data_dir/releases`` beside a local lake, owner-only and
written whole; erasure's forgetting removes them (on object storage: tests/integration/engines)."""

from __future__ import annotations

import stat

import polars as pl

from portal.council import figures, releases
from tests.conftest import make_settings

VIEWS = {("category",): pl.DataFrame({"category": ["user.behavior.keystrokes"], "people": [10], "records": [99],
                                      "suppressed": [False]})}


def test_a_local_lakes_releases_are_owner_only_files_in_the_data_directory(tmp_path):
    settings = make_settings(tmp_path)
    where = figures.release_store(settings)
    assert where.root == str(tmp_path / "releases")
    releases.cached(where, "collection", "k1", ("category",), lambda: VIEWS, 5, None)
    stored = tmp_path / "releases" / "collection.parquet"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    assert [p.name for p in stored.parent.iterdir()] == ["collection.parquet"]  # no temporary file left behind


def test_a_newer_key_replaces_the_stored_release_and_forgetting_removes_it(tmp_path):
    settings = make_settings(tmp_path)
    where = figures.release_store(settings)
    first = releases.cached(where, "collection", "k1", ("category",), lambda: VIEWS, 5, None)
    releases.forget(None, ["collection"])
    assert releases.lookup(where, "collection", "k2", ("category",)) is None
    second = releases.cached(where, "collection", "k2", ("category",), lambda: VIEWS, 5, None)
    assert second.key == "k2" and second.created_at >= first.created_at
    releases.forget(None, ["collection"])
    assert releases.lookup(where, "collection", "k2", ("category",)).created_at == second.created_at
    figures.forget_cached_copies(settings)
    assert not where.exists("collection.parquet")
    assert releases.lookup(where, "collection", "k2", ("category",)) is None


def test_a_data_directory_path_still_names_the_release_store_beside_its_local_lake(tmp_path):
    where = figures.release_store(make_settings(tmp_path))
    releases.cached(where, "access", "k", ("category",), lambda: VIEWS, 5, None)
    releases.forget(tmp_path, ["access"])
    assert not (tmp_path / "releases" / "access.parquet").exists()


def test_a_release_store_that_cannot_be_written_only_costs_recomputation(tmp_path):
    (tmp_path / "releases").write_text("a file where the store's directory should be")
    where = figures.release_store(make_settings(tmp_path))
    computed = []

    def compute():
        computed.append(1)
        return VIEWS

    made = releases.cached(where, "collection", "k", ("category",), compute, 5, None)
    assert made.view(("category",)).equals(VIEWS[("category",)])
    releases.forget(None, ["collection"])  # a new process: nothing in memory, nothing stored
    releases.cached(where, "collection", "k", ("category",), compute, 5, None)
    assert len(computed) == 2
