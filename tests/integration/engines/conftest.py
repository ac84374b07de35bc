"""Fixtures of the batch-engine tests: one seeded demo lake and one small Ray cluster for the whole session.

Ray takes seconds to start (tens on a loaded machine), so every test that runs on the Ray engine shares one
cluster of two CPUs; the ``portal`` command run in-process with ``--engine ray`` joins the same one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from portal import bootstrap, cli
from portal.core.settings import Settings
from portal.engines import erased, ray_cluster
from portal.engines.lake_rows import data_files
from portal.engines.local import LocalEngine
from portal.engines.ray_engine import RayEngine
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings

EMPLOYEES, DAYS, SEED = 60, 14, 11
RAY_CPUS = 2


@pytest.fixture(scope="session")
def ray_engine() -> Iterator[RayEngine]:
    engine = RayEngine(RAY_CPUS)
    ray_cluster.ensure(RAY_CPUS)
    yield engine
    ray_cluster.shutdown()


@pytest.fixture(scope="session")
def local_engine() -> LocalEngine:
    return LocalEngine()


def seed_with_the_command(data_dir: Path) -> Settings:
    """``portal seed`` into ``data_dir``, as an operator would (the environment names only the data directory)."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PORTAL_DATA_DIR", str(data_dir))
        for name in ("PORTAL_DATABASE_URL", "PORTAL_LAKE_URL", "PORTAL_ENGINE", "PORTAL_K_ANONYMITY",
                     "PORTAL_DP_EPSILON", "PORTAL_CATALOG", "RAY_ADDRESS"):
            env.delenv(name, raising=False)
        code = cli.main(["seed", "--employees", str(EMPLOYEES), "--days", str(DAYS), "--seed", str(SEED)])
    assert code == 0
    return make_settings(data_dir)


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A seeded demo company (with a completed erasure) that the tests only read; derived stores may go."""
    return seed_with_the_command(tmp_path_factory.mktemp("engines"))


def drop_derived(settings: Settings) -> None:
    """No rollup and no release, in memory or stored: the next figures are computed from the data files."""
    from portal.council import figures
    from portal.lake import volume_rollup

    figures.forget_cached_copies(settings)
    for name in ("rollups", "releases"):
        store = settings.lake_location.derived(name)
        for entry in list(store.files()):
            if entry.relative.endswith(".parquet"):
                store.delete(entry.path)
    volume_rollup.forget()


@pytest.fixture
def leftover(company):
    """An erased person's rows in a file the Delta log never referenced (a restored backup, a crashed writer):
    some recorded before the erasure, some after it."""
    services = bootstrap.build(company)
    try:
        [erasure] = erased.completed_erasures(services.engine)
    finally:
        services.engine.dispose()
    at = erasure.erased_at["keystrokes"]
    template = pq.read_table(data_files(company.lake_location, "keystrokes")[0].path).slice(0, 5)
    times = [at - timedelta(days=2), at - timedelta(hours=1), at, at + timedelta(seconds=1), at + timedelta(days=1)]
    rows = template.set_column(0, "subject_id", pa.array([erasure.subject_id] * 5, pa.string())).set_column(
        1, "ts", pa.array(times, pa.timestamp("us", tz="UTC")))
    bucket = TelemetryStore(company).bucket_of(erasure.subject_id)
    directory = company.lake_location.local_dir / "keystrokes" / f"bucket={bucket}"
    path = directory / "part-00000-restored-from-backup.zstd.parquet"
    pq.write_table(rows, path)
    yield erasure, path
    path.unlink(missing_ok=True)
