"""Fixtures shared by all test suites.

``settings``: a fresh data directory per test, SQLite metadata DB, no ``.env``.
``seeded_company``: one small demo company per session, for tests that only read.
``postgres_url``: a schema of its own on the test PostgreSQL server per session.
``object_store``: a local S3-compatible server (SeaweedFS) per session; ``s3_environment`` points the
``AWS_*`` variables at it for one test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.core import catalog, db
from portal.demo import object_store as local_object_store
from portal.demo import seed as demo
from portal.core.settings import Settings

POSTGRES_URL_VARIABLE = "PORTAL_TEST_POSTGRES_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

# Large enough that the over-exposure reaches more than 100 people, small enough to seed in ~2 s.
SEEDED_EMPLOYEES = 150
SEEDED_DAYS = 21
SEEDED_SEED = 7


@pytest.fixture(autouse=True)
def _catalog_in_force() -> Iterator[None]:
    """A test that puts another catalog in force (PORTAL_CATALOG, catalog.activate) leaves the default behind."""
    before = catalog.active()
    yield
    if catalog.active() is not before:
        catalog.activate(before)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings that ignore the developer's environment and ``.env``: tests see only what they set."""
    values: dict[str, object] = {"data_dir": data_dir, "database_url": None}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@dataclass(frozen=True)
class SeededCompany:
    settings: Settings
    report: demo.SeedReport
    engine: sa.Engine


@pytest.fixture(scope="session")
def seeded_company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededCompany]:
    """A demo company shared by the whole session; tests must not change it."""
    data_dir = tmp_path_factory.mktemp("company")
    settings = make_settings(data_dir)
    report = demo.seed(settings, employees=SEEDED_EMPLOYEES, days=SEEDED_DAYS, seed=SEEDED_SEED)
    engine = db.make_engine(settings.resolved_database_url)
    yield SeededCompany(settings, report, engine)
    engine.dispose()


def _with_search_path(url: str, schema: str) -> str:
    # psycopg takes libpq's "options"; SQLAlchemy passes URL query parameters through to connect().
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of a fresh schema on the test PostgreSQL server, dropped after the session.

    Skips when the server is unreachable, except under CI=true where a missing
    database must fail the run rather than silently shrink it.
    """
    url = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
    shown = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        reason = f"PostgreSQL at {shown} is unreachable ({' '.join(str(exc.orig).split())}); set {POSTGRES_URL_VARIABLE}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    schema = f"t_{secrets.token_hex(6)}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(url, schema)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture
def fresh_postgres_url(postgres_url: str) -> Iterator[str]:
    """A schema of its own, for a test whose rows the session's other PostgreSQL tests must not see."""
    server = os.environ.get(POSTGRES_URL_VARIABLE, DEFAULT_POSTGRES_URL)
    engine = sa.create_engine(server)
    schema = f"t_{secrets.token_hex(6)}"
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _with_search_path(server, schema)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[local_object_store.ObjectStore]:
    """SeaweedFS on loopback ports of its own, with one bucket, for the whole session.

    Skips when SeaweedFS is not installed, except under CI=true, where the lake's object-storage tests must run.
    """
    try:
        local_object_store.weed_binary()
    except local_object_store.ObjectStoreError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    server = local_object_store.start(tmp_path_factory.mktemp("object-store"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_environment(object_store: local_object_store.ObjectStore,
                   monkeypatch: pytest.MonkeyPatch) -> local_object_store.ObjectStore:
    """The ``AWS_*`` variables of the session's object store, for this test only."""
    for name, value in object_store.environment().items():
        monkeypatch.setenv(name, value)
    return object_store


def s3_prefix() -> str:
    """A prefix no other test uses, so tests sharing the bucket never see each other's lake."""
    return f"t-{secrets.token_hex(6)}"
