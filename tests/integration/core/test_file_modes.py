"""Every file holding personal data is 0600 in 0700 directories, whatever the umask."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.core import db
from portal.demo import seed as demo
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[3]


def loose_entries(root: Path) -> list[str]:
    """Every directory under ``root`` (itself included) that is not 0700 and every file that is not 0600."""
    found = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(os.lstat(path).st_mode)
        wanted = 0o700 if path.is_dir() else 0o600
        if mode != wanted:
            found.append(f"{path.relative_to(root.parent)} is {mode:o}")
    return found


@pytest.fixture
def loose_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.fixture
def company(tmp_path, loose_umask):
    settings = make_settings(tmp_path / "data")
    # Enough people for the request history: copies, erasures, tombstones, receipts and their keys.
    demo.seed(settings, employees=60, days=7, seed=3)
    return settings


def test_a_company_seeded_under_a_loose_umask_is_owner_only_down_to_every_file(company):
    data_dir = Path(company.data_dir)
    engine = db.make_engine(company.resolved_database_url)
    try:
        with engine.connect() as conn:  # an open SQLite connection in WAL mode keeps -wal and -shm on disk
            conn.execute(sa.select(db.employees.c.employee_id).limit(1)).all()
            names = {p.name for p in data_dir.iterdir()}
            assert {"lake", "portal.db", "portal.db-wal", "portal.db-shm", "audit", "rollups", "releases",
                    "copies", "keys"} <= names
            assert any(data_dir.glob("lake/*/_delta_log/*.json")) and any(data_dir.glob("lake/*/bucket=*/*.parquet"))
            assert loose_entries(data_dir) == []
    finally:
        engine.dispose()


def test_portal_commands_run_under_a_loose_umask_write_owner_only_files(company):
    env = {**os.environ, "PORTAL_DATA_DIR": str(company.data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)

    def portal(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "portal.cli", *args], cwd=ROOT, env=env, umask=0o022,
                              capture_output=True, text=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # An erasure rewrites the lake and its log, signals running portals and takes lock files.
    request_id = json.loads(portal("requests", "file", "--subject", "bob", "--kind", "erasure", "--json"))["id"]
    portal("requests", "approve", request_id, "--reason", "Identity verified")
    portal("requests", "run", request_id)
    assert loose_entries(Path(company.data_dir)) == []


def test_an_existing_database_file_that_was_world_readable_is_made_owner_only_when_opened(tmp_path, loose_umask):
    path = tmp_path / "portal.db"
    path.write_bytes(b"")
    path.chmod(0o644)
    db.make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
