"""`portal aggregates` over a real seeded company: the same figures as the page, never under k."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pytest

from portal import bootstrap, cli
from portal.core import catalog
from portal.council import council_tables, figures
from portal.demo import seed as demo
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings
from tests.unit.council.test_aggregates import rounded, true_counts

K = 5


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("council"))
    demo.seed(settings, employees=150, days=21, seed=7)
    return settings


@pytest.fixture
def portal(company, monkeypatch, capsys):
    """Run the ``portal`` command in-process against the company; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("PORTAL_DATA_DIR", str(company.data_dir))
    for name in ("PORTAL_DATABASE_URL", "PORTAL_K_ANONYMITY", "PORTAL_DP_EPSILON"):
        monkeypatch.delenv(name, raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def release(settings):
    services = bootstrap.build(settings)
    try:
        return figures.collection_release(settings, services.engine, services.store)
    finally:
        services.engine.dispose()


def lake_cells(settings, view):
    """{cell: set of people} straight from the Delta tables and the employees table."""
    services = bootstrap.build(settings)
    with services.engine.connect() as conn:
        departments = pl.read_database("SELECT employee_id AS subject_id, department FROM employees", conn)
    services.engine.dispose()
    frames = [pl.scan_delta(str(settings.lake_dir / c.table_name)).select(
        "subject_id", pl.lit(c.key).alias("category"), pl.col("ts").dt.truncate("1w").cast(pl.Date).alias("week"))
        .collect() for c in catalog.CATEGORIES]
    facts = pl.concat(frames).join(departments, on="subject_id")
    grouped = facts.group_by(list(view)).agg(pl.col("subject_id").unique())
    return {tuple(r[d] for d in view): set(r["subject_id"]) for r in grouped.iter_rows(named=True)}


@pytest.mark.parametrize(("by", "period", "view"), [
    ("department,category", "week", ("department", "category", "week")),
    ("department,category", "all", ("department", "category")),
    ("department", "none", ("department",)),
    ("category", "all", ("category",)),
    ("category", "week", ("category", "week")),
])
def test_the_json_equals_the_figures_the_page_shows(portal, company, by, period, view):
    code, out, err = portal("aggregates", "--by", by, "--period", period, "--format", "json")
    assert code == 0, err
    printed = json.loads(out)
    assert printed == council_tables.rows(release(company), view)
    assert all(list(cell) == [*view, "people", "records"] for cell in printed)
    assert "at least 5 people" in err


def test_every_printed_cell_describes_at_least_k_people_of_the_lake(portal, company):
    view = ("department", "category", "week")
    code, out, _ = portal("aggregates", "--by", "department,category", "--period", "week")
    truth = lake_cells(company, view)
    printed = json.loads(out)
    assert any(c["people"] is None for c in printed) and any(c["people"] is not None for c in printed)
    for cell in printed:
        key = (cell["department"], cell["category"], datetime.fromisoformat(cell["week"]).date())
        if cell["people"] is None:
            assert cell["records"] is None
        else:
            assert len(truth[key]) >= K and cell["people"] == rounded(len(truth[key]), K)


def test_no_department_total_minus_its_categories_pins_down_a_small_group(portal, company):
    _, out, _ = portal("aggregates", "--by", "department")
    departments = {c["department"]: c for c in json.loads(out)}
    _, out, _ = portal("aggregates", "--by", "department,category")
    truth = lake_cells(company, ("department", "category"))
    totals = lake_cells(company, ("department",))
    for cell in json.loads(out):
        parent = departments[cell["department"]]
        if cell["people"] is None or parent["people"] is None:
            continue
        missing = len(totals[(cell["department"],)] - truth[(cell["department"], cell["category"])])
        differences = {x - y for x in true_counts(parent["people"], K) for y in true_counts(cell["people"], K)
                       if y <= x}
        assert missing in differences
        assert not 1 <= missing < K or len(differences) >= 2


def test_the_csv_holds_the_same_cells_with_hidden_ones_empty(portal):
    _, as_json, _ = portal("aggregates", "--by", "department,category", "--format", "json")
    code, as_csv, _ = portal("aggregates", "--by", "department,category", "--format", "csv")
    assert code == 0
    lines = as_csv.splitlines()
    assert lines[0] == "department,category,people,records"
    expected = [f"{c['department']},{c['category']},{'' if c['people'] is None else c['people']},"
                f"{'' if c['records'] is None else c['records']}" for c in json.loads(as_json)]
    assert lines[1:] == expected


@pytest.mark.parametrize(("args", "message"), [
    (("--by", "team"), "unknown grouping 'team'; group by one or both of: department, category"),
    (("--by", "department", "--period", "month"), "unknown period 'month'; valid periods: week, none, all"),
    (("--by", "department", "--period", "week"), "is not offered"),
])
def test_an_unknown_grouping_or_period_exits_2_naming_the_valid_ones(portal, args, message):
    code, out, err = portal("aggregates", *args)
    assert code == 2
    assert out == ""
    assert err.startswith("portal aggregates: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PORTAL_K_ANONYMITY", "1", "PORTAL_K_ANONYMITY"),
    ("PORTAL_K_ANONYMITY", "0", "must be at least 2"),
    ("PORTAL_DP_EPSILON", "-1", "PORTAL_DP_EPSILON"),
    ("PORTAL_DP_EPSILON", "0", "must be a positive number"),
])
def test_a_k_below_2_or_a_non_positive_epsilon_prints_the_problem_and_no_figures(portal, monkeypatch, variable,
                                                                                 value, message):
    monkeypatch.setenv(variable, value)
    code, out, err = portal("aggregates", "--by", "department")
    assert code == 2
    assert out == ""
    assert message in err and "Traceback" not in err


def test_with_noise_the_command_says_so_and_repeats_the_same_noisy_figures(portal, company, monkeypatch):
    monkeypatch.setenv("PORTAL_DP_EPSILON", "0.5")
    code, first, err = portal("aggregates", "--by", "department,category")
    assert code == 0 and "epsilon 0.5" in err
    figures.forget_cached_copies()  # memory only: the stored release must give the same draw
    _, second, _ = portal("aggregates", "--by", "department,category")
    assert first == second
    monkeypatch.delenv("PORTAL_DP_EPSILON")
    _, exact, _ = portal("aggregates", "--by", "department,category")
    assert exact != first
    exact_cells, noisy_cells = json.loads(exact), json.loads(first)
    assert [c["people"] is None for c in exact_cells] == [c["people"] is None for c in noisy_cells]


def test_new_telemetry_changes_the_figures_and_erasure_clears_every_cached_copy(tmp_path):
    settings = make_settings(tmp_path)
    demo.seed(settings, employees=40, days=7, seed=3)
    before = release(settings)
    total = before.view(())["records"][0]
    rows = 25
    TelemetryStore(settings).append("keystrokes", pa.table({
        "subject_id": ["E00001"] * rows, "ts": pa.array([datetime(2026, 11, 26, 9, i, tzinfo=UTC) for i in range(rows)],
                                                         pa.timestamp("us", tz="UTC")),
        "window_minutes": pa.array([15] * rows, pa.int16()), "key_count": pa.array([100] * rows, pa.int32()),
        "active_seconds": pa.array([60] * rows, pa.int32()), "device": ["LT-1"] * rows}))
    after = release(settings)
    assert after.key != before.key and after.view(())["records"][0] == total + rows
    stored = settings.data_dir / "releases" / "collection.parquet"
    assert stored.exists()
    figures.forget_cached_copies(settings)
    assert not stored.exists()


def test_requests_in_the_register_are_counted_with_their_deadlines(company):
    import sqlalchemy as sa

    from portal.core import db

    engine = db.make_engine(company.resolved_database_url)
    with engine.connect() as conn:
        asked = set(conn.execute(sa.select(db.privacy_requests.c.employee_id)).scalars())
    received = datetime(2026, 9, 1, 9, tzinfo=UTC)
    plans = [("erasure", "completed", "2026-10-01", "2026-09-20")] * 12 \
        + [("objection", "completed", "2026-10-01", "2026-10-15")] * 6 \
        + [("access", "submitted", "2099-01-01", "2026-09-01")] * 7 \
        + [("access", "in_review", "2026-10-01", "2026-09-02")] * 2
    people = [e for e in (f"E{i:05d}" for i in range(1, 151)) if e not in asked][:len(plans)]
    rows = [{"request_id": f"rq-{i}", "employee_id": people[i], "kind": kind, "categories": None,
             "purpose_code": None, "channel": "portal", "details": None, "received_at": received,
             "deadline": datetime.fromisoformat(due).date(), "extended_deadline": None, "extension_reason": None,
             "status": status, "decision_reason": None,
             "updated_at": datetime.fromisoformat(updated).replace(tzinfo=UTC)}
            for i, (kind, status, due, updated) in enumerate(plans)]
    try:
        with engine.begin() as conn:
            conn.execute(sa.insert(db.privacy_requests), rows)
        # Only the rows written here: the demo company's own request history is left out of the count.
        release = figures.request_release(
            company, engine, lambda e: figures.default_request_source(e).filter(pl.col("person").is_in(people)))
        assert not release.empty
        deadlines = {(r["kind"], r["deadline"]): r["requests"] for r in release.view(("kind", "deadline")).iter_rows(
            named=True)}
        assert deadlines[("erasure", "met")] == 12 and deadlines[("objection", "missed")] == 6
        assert deadlines[("access", "not yet due")] is None  # 7 next to a group of 2: hidden with it
        assert deadlines[("access", "missed")] is None
        table = council_tables.display_table(release, ("kind", "deadline"))
        assert "hidden" in table["People"].to_list()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(db.privacy_requests).where(db.privacy_requests.c.request_id.like("rq-%")))
        engine.dispose()
