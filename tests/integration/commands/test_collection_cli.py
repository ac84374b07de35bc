"""``portal ingest telemetry``, ``portal lake check`` and ``portal retention run`` as a person types them: a
report on success, exit 2 with what is wrong (and where) otherwise, never a traceback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
import sqlalchemy as sa
from deltalake import write_deltalake

from portal import cli
from portal.core import db
from portal.demo import seed as demo
from tests.conftest import make_settings

NOW = datetime.now(UTC).replace(microsecond=0)
KEYSTROKES = "user.behavior.keystrokes"


@pytest.fixture
def company(tmp_path):
    settings = make_settings(tmp_path / "data")
    demo.seed(settings, employees=20, days=5, seed=3)
    engine = db.make_engine(settings.resolved_database_url)
    with engine.begin() as conn:
        for name, status in (("endpoint-agent", "approved"), ("old-agent", "suspended")):
            conn.execute(sa.insert(db.collectors).values(
                name=name, category_key=KEYSTROKES, purposes="essential.service.security",
                legal_basis="GDPR Art. 6(1)(f) legitimate interests", retention_days=180, status=status,
                registered_at=NOW, approved_at=NOW, status_changed_at=NOW, status_reason="agreement lapsed"))
        people = conn.execute(sa.select(db.employees.c.employee_id)).scalars().all()
    yield settings, engine, sorted(people)
    engine.dispose()


@pytest.fixture
def portal(company, monkeypatch, capsys):
    settings, _, _ = company
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def batch(people: list[str], path, n: int = 40) -> str:
    frame = pl.DataFrame({
        "subject_id": [people[i % len(people)] for i in range(n)],
        "ts": [(NOW - timedelta(hours=1, minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)],
        "window_minutes": [15] * n, "key_count": list(range(n)), "active_seconds": [60] * n, "device": ["LT-1"] * n})
    frame.write_csv(path)
    return str(path)


def test_a_batch_is_taken_in_once_and_the_second_time_said_to_be_known(company, portal, tmp_path):
    path = batch(company[2], tmp_path / "b.csv")
    code, out, _ = portal("ingest", "telemetry", "--collector", "endpoint-agent", path)
    assert code == 0 and "stored 40 row(s)" in out
    code, out, _ = portal("ingest", "telemetry", "--collector", "endpoint-agent", path)
    assert code == 0 and "taken in before; nothing was written again" in out


def test_a_bad_line_ends_in_exit_2_naming_the_line_and_column(company, portal, tmp_path):
    path = tmp_path / "b.csv"
    batch(company[2], path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace(lines[2].split(",")[0], "E99999", 1)
    path.write_text("\n".join(lines) + "\n")
    code, _, err = portal("ingest", "telemetry", "--collector", "endpoint-agent", str(path))
    assert code == 2
    assert "line 3: subject_id: 'E99999' is not an employee id" in err and "nothing was written" in err


@pytest.mark.parametrize(("collector", "said"), [("old-agent", "suspended"), ("nobody", "not on the register")])
def test_a_collector_the_register_does_not_let_through_ends_in_exit_2(company, portal, tmp_path, collector, said):
    code, _, err = portal("ingest", "telemetry", "--collector", collector, batch(company[2], tmp_path / "b.csv"))
    assert code == 2 and said in err


def test_a_missing_file_ends_in_exit_2(portal, tmp_path):
    code, _, err = portal("ingest", "telemetry", "--collector", "endpoint-agent", str(tmp_path / "none.csv"))
    assert code == 2 and "cannot read" in err


def test_a_seeded_lake_conforms_and_its_rollups_are_built(portal):
    code, out, err = portal("lake", "check")
    assert code == 0 and out.count(": conforms") == 6 and "Rollups up to date" in out
    assert "checking keystrokes" in err


def test_a_table_written_with_the_wrong_bucket_function_ends_in_exit_2(company, portal):
    settings, _, people = company
    frame = pl.DataFrame({
        "subject_id": people[:4], "bucket": pl.Series([0] * 4, dtype=pl.Int32),
        "ts": [NOW - timedelta(hours=1)] * 4, "window_minutes": pl.Series([15] * 4, dtype=pl.Int16),
        "key_count": pl.Series([1] * 4, dtype=pl.Int32), "active_seconds": pl.Series([1] * 4, dtype=pl.Int32),
        "device": ["LT-1"] * 4}).with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
    write_deltalake(settings.lake_dir / "keystrokes", frame.to_arrow(), mode="append", partition_by=["bucket"])
    code, out, err = portal("lake", "check")
    assert code == 2 and "wrong bucket partition" in out and "does not conform" in err


def test_a_retention_run_prints_each_category_with_its_cutoff(portal):
    code, out, err = portal("retention", "run")
    assert code == 0 and "Keystroke activity" in out and "Nothing was past its retention." in out
    assert "portal retention: keystrokes: deleting records before" in err
