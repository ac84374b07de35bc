"""The works council's views: every shown cell describes at least k people, no two subtract to fewer."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import json
import pathlib
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.council import aggregates, council_tables, figures
from portal.core import catalog
from portal import charts
from portal.lake import volume_rollup
from portal.council.figures import WorksCouncilError
from tests.unit.council.test_aggregates import rounded, true_counts

ROOT = pathlib.Path(__file__).resolve().parents[3]
CATEGORIES = [c.key for c in catalog.CATEGORIES]
PURPOSES = [p.code for p in catalog.PURPOSES] + [figures.NO_PURPOSE]
WEEKS = [dt.date(2026, 10, 5) + dt.timedelta(weeks=i) for i in range(4)]
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---- small random companies --------------------------------------------------


@st.composite
def companies(draw):
    """Collection facts of a small company: skewed departments, people absent some weeks."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    n_people, n_dep = draw(st.integers(1, 45)), draw(st.integers(1, 5))
    n_cat, n_week = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    weights = [rng.random() ** 3 + 0.02 for _ in range(n_dep)]
    rows = []
    for p in range(n_people):
        dep = f"d{rng.choices(range(n_dep), weights)[0]}"
        for c in rng.sample(CATEGORIES[:n_cat], rng.randint(1, n_cat)):
            for w in rng.sample(WEEKS[:n_week], rng.randint(1, n_week)):
                rows.append((f"E{p:05d}", dep, c, w, rng.randint(1, 400)))
    return rows, draw(st.integers(2, 6))


@st.composite
def access_logs(draw):
    """Access facts: services reading nearly everyone, a few people reading a few."""
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    n_people = draw(st.integers(1, 40))
    rows = []
    for p in range(n_people):
        for c in rng.sample(CATEGORIES[:3], rng.randint(1, 3)):
            if rng.random() < 0.9:
                rows.append((f"ps{p}", "service", rng.choice(PURPOSES[:2]), c, rng.randint(1, 9)))
            if rng.random() < 0.3:
                rows.append((f"ps{p}", "person", rng.choice(PURPOSES[2:5]), c, rng.randint(1, 3)))
    return rows, draw(st.integers(2, 6))


@st.composite
def request_registers(draw):
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    rows = []
    for p in range(draw(st.integers(1, 40))):
        for _ in range(rng.randint(1, 2)):
            rows.append((f"ps{p}", rng.choice(["erasure", "objection", "access"]),
                         rng.choice(["submitted", "in_review", "completed", "rejected"]),
                         rng.choice([True, True, True, False, None])))
    return rows, draw(st.integers(2, 6))


COLLECTION = ["person", "department", "category", "week", "records"]
ACCESS = ["person", "actor_kind", "purpose", "category", "events"]


def collection(rows, k):
    return figures.publish_collection(pl.DataFrame(rows, schema=COLLECTION, orient="row"), k)


def access(rows, k):
    return figures.publish_access(pl.DataFrame(rows, schema=ACCESS, orient="row"), k)


def requests(rows, k):
    raw = pl.DataFrame(rows, schema=list(figures.REQUEST_COLUMNS), orient="row",
                       schema_overrides={"met_deadline": pl.Boolean})
    facts = figures.request_facts(raw)
    return figures.publish_requests(facts, k), facts.rows()


# ---- brute force, straight from the rows -------------------------------------


def cells(rows, columns, view):
    out: dict[tuple, set[int]] = {}
    for i, row in enumerate(rows):
        out.setdefault(tuple(row[columns.index(d)] for d in view), set()).add(i)
    return out


def persons(rows, idx):
    return {rows[i][0] for i in idx}


def small(n, k):
    return 1 <= n < k


def shown(out, view):
    return {tuple(r[d] for d in view): r for r in out[view].iter_rows(named=True)}


def check_family(out, rows, columns, measure, k):
    """Invariant 2 on one published family, checked against the rows by brute force."""
    views = list(out)
    for view in views:
        truth = cells(rows, columns, view)
        assert set(shown(out, view)) == set(truth)
        for key, cell in shown(out, view).items():
            if cell["suppressed"]:
                assert cell["people"] is None and cell[measure] is None
            else:
                people = len(persons(rows, truth[key]))
                assert people >= k and cell["people"] == rounded(people, k)
    for parent in views:
        for view in views:
            if not set(parent) < set(view):
                continue
            big, fine = cells(rows, columns, parent), cells(rows, columns, view)
            parents_shown = {key for key, c in shown(out, parent).items() if not c["suppressed"]}
            children: dict[tuple, list] = {}
            for key, cell in shown(out, view).items():
                a = tuple(key[view.index(d)] for d in parent)
                children.setdefault(a, []).append((key, cell))
                if cell["suppressed"] or a not in parents_shown:
                    continue
                assert not small(len(persons(rows, big[a] - fine[key])), k)
                # rounded people figures never pin down how many of A are not in the child
                missing = len(persons(rows, big[a]) - persons(rows, fine[key]))
                parent_people = shown(out, parent)[a]["people"]
                differences = {x - y for x in true_counts(parent_people, k)
                               for y in true_counts(cell["people"], k) if y <= x}
                assert missing in differences
                assert not small(missing, k) or len(differences) >= 2
            for a in parents_shown:
                kids = children.get(a, [])
                visible = [key for key, c in kids if not c["suppressed"]]
                assert len(kids) - len(visible) != 1
                covered = set().union(*(persons(rows, fine[v]) for v in visible))
                assert not small(len(persons(rows, big[a]) - covered), k)
                rest = big[a] - set().union(*(fine[v] for v in visible))
                assert not small(len(persons(rows, rest)), k)


@PROPERTY
@given(companies())
def test_no_collection_figure_describes_fewer_than_k_people_or_subtracts_to_them(company):
    rows, k = company
    check_family(collection(rows, k), rows, COLLECTION, "records", k)


@PROPERTY
@given(access_logs())
def test_no_access_figure_describes_fewer_than_k_people_or_subtracts_to_them(log):
    rows, k = log
    check_family(access(rows, k), rows, ACCESS, "events", k)


@PROPERTY
@given(request_registers())
def test_no_request_figure_describes_fewer_than_k_people_or_subtracts_to_them(register):
    rows, k = register
    out, facts = requests(rows, k)
    check_family(out, facts, ["person", "kind", "status", "deadline", "requests"], "requests", k)


@PROPERTY
@given(companies())
def test_shown_collection_figures_equal_a_recount(company):
    rows, k = company
    out = collection(rows, k)
    for view in out:
        truth = cells(rows, COLLECTION, view)
        for key, cell in shown(out, view).items():
            if not cell["suppressed"]:
                assert cell["records"] == sum(rows[i][-1] for i in truth[key])


# ---- the families themselves -------------------------------------------------


def test_the_collection_family_holds_every_offered_grouping_but_no_weekly_department_totals():
    assert set(figures.COLLECTION_VIEWS) >= {(), ("department",), ("category",), ("department", "category"),
                                                   ("department", "category", "week")}
    assert ("category", "week") in figures.COLLECTION_VIEWS
    assert ("department", "week") not in figures.COLLECTION_VIEWS


def grid(sizes, weeks=WEEKS[:1]):
    rows = []
    for (dep, cat), n in sizes.items():
        rows += [(f"{dep}-{cat}-{i}", dep, cat, w, 10) for i in range(n) for w in weeks]
    return rows


def test_a_department_of_four_is_hidden_with_a_complementary_cell_at_k_5():
    out = collection(grid({("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 30,
                           ("Finance", CATEGORIES[0]): 9}), 5)
    departments = {r["department"]: r["people"] for r in out[("department",)].iter_rows(named=True)}
    assert departments["Legal"] is None
    assert sum(v is None for v in departments.values()) == 2  # the total minus two shown would give Legal


def test_suppressed_cells_are_null_in_the_rows_the_command_prints():
    release = release_of(collection(grid({("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 30,
                                          ("Finance", CATEGORIES[0]): 9}), 5))
    printed = council_tables.rows(release, ("department",))
    assert {"department": "Legal", "people": None, "records": None} in printed
    assert all(set(r) == {"department", "people", "records"} for r in printed)


def test_weeks_print_as_iso_dates():
    release = release_of(collection(grid({("Sales", CATEGORIES[0]): 12}, WEEKS[:2]), 5))
    printed = council_tables.rows(release, ("category", "week"))
    assert [r["week"] for r in printed] == ["2026-10-05", "2026-10-12"]
    json.loads(council_tables.to_json(printed))


def test_the_csv_leaves_hidden_cells_empty():
    cells_ = [{"department": "Legal", "people": None, "records": None},
              {"department": "Sales", "people": 30, "records": 300}]
    assert council_tables.to_csv(cells_, ["department", "people", "records"]) == (
        "department,people,records\nLegal,,\nSales,30,300\n")


def test_the_csv_neutralises_formulas_in_names_from_the_directory_but_keeps_negative_figures_numbers():
    cells_ = [{"department": '=HYPERLINK("http://evil.example","Sales")', "people": 30, "records": -3},
              {"department": "@SUM(A1)", "people": 30, "records": 300},
              {"department": "-Ops", "people": None, "records": None}]
    rows_ = list(csv.reader(io.StringIO(council_tables.to_csv(cells_, ["department", "people", "records"]))))
    assert rows_[1:] == [["'=HYPERLINK(\"http://evil.example\",\"Sales\")", "30", "-3"],
                         ["'@SUM(A1)", "30", "300"], ["'-Ops", "", ""]]


def release_of(views, k=5, name=figures.COLLECTION):
    return figures.Release(name, views, k, None, "test", dt.datetime.now(dt.UTC))


def test_the_page_table_says_hidden_instead_of_a_blank_and_why_below_it():
    release = release_of(collection(grid({("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 30,
                                          ("Finance", CATEGORIES[0]): 9}), 5))
    table = council_tables.display_table(release, ("department", "category"))
    legal = table.filter(pl.col("Department") == "Legal").row(0, named=True)
    assert legal["People"] == legal["Records"] == "hidden"
    assert council_tables.hidden_summary(release, ("department", "category")).startswith(
        "2 of 3 figures are hidden. A cell is hidden when fewer than 5 people are behind it, or when showing it")
    assert legal["Category"] == catalog.CATEGORIES[0].name
    sales = table.filter(pl.col("Department") == "Sales").row(0, named=True)
    assert sales["People"] == "30" and sales["Records"] == "300"


def test_the_heatmap_the_table_and_the_csv_show_the_same_cells():
    sizes = {("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 30, ("Finance", CATEGORIES[0]): 9,
             ("<b>Ops</b>", CATEGORIES[1]): 12, ("Sales", CATEGORIES[1]): 25}
    release = release_of(collection(grid(sizes), 5))
    view = ("department", "category")
    cells = council_tables.rows(release, view)
    figure = charts.collection_heatmap(council_tables.chart_frame(release, view), "hidden",
                                       council_tables.hidden_reason(5))
    heat = figure.data[0]
    names = {c.key: c.name for c in catalog.CATEGORIES}
    on_map = {(d, c): (z, t) for d, zs, ts in zip(heat.y, heat.z, heat.text, strict=True)
              for c, z, t in zip(heat.x, zs, ts, strict=True)}
    table = council_tables.display_table(release, view)
    csv_rows = council_tables.to_csv(cells, [*view, "people", "records"]).splitlines()[1:]
    for cell, shown, line in zip(cells, table.iter_rows(named=True), csv_rows, strict=True):
        escaped = cell["department"].replace("<", "&lt;").replace(">", "&gt;")
        z, text = on_map[(escaped, names[cell["category"]])]
        assert z == cell["records"]
        assert text == ("hidden" if cell["records"] is None else f"{cell['records']:,}")
        assert shown["Records"] == ("hidden" if cell["records"] is None else f"{cell['records']:,}")
        assert line.endswith(",," if cell["records"] is None else f",{cell['people']},{cell['records']}")
    hover = [h for row in heat.customdata for h in row if h and "hidden when" in h]
    assert hover and all(h.startswith(("Legal", "Finance", "Sales", "&lt;b&gt;Ops")) for h in hover)
    assert "<b>" not in "".join(h for row in heat.customdata for h in row if h)


def test_a_table_says_how_many_figures_are_hidden_or_that_all_are_shown():
    hidden = release_of(collection(grid({("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 30,
                                         ("Finance", CATEGORIES[0]): 9}), 5))
    assert council_tables.hidden_summary(hidden, ("department",), gaps=True).startswith(
        "Gaps in the lines are hidden figures: 2 of 3 figures are hidden. A cell is hidden when")
    shown = release_of(collection(grid({("Legal", CATEGORIES[0]): 10, ("Sales", CATEGORIES[0]): 30}), 5))
    assert council_tables.hidden_summary(shown, ("department",)) == "All 2 figures are shown."


def test_the_k_sentence_states_k_plainly():
    assert council_tables.k_sentence(5).startswith("Every figure describes at least 5 people")


# ---- choosing a view ----------------------------------------------------------


@pytest.mark.parametrize(("by", "period", "view"), [
    ("department,category", "week", ("department", "category", "week")),
    ("category,department", "all", ("department", "category")),
    ("department", "none", ("department",)),
    ("category", "all", ("category",)),
    ("category", "week", ("category", "week")),
    (" department , category ", "none", ("department", "category")),
])
def test_groupings_and_periods_pick_a_published_view(by, period, view):
    assert figures.collection_view(by, period) == view


@pytest.mark.parametrize(("by", "period", "message"), [
    ("team", "week", r"unknown grouping 'team'; group by one or both of: department, category"),
    ("department,site", "all", r"unknown grouping 'site'"),
    ("", "all", r"no grouping given; group by one or both of: department, category"),
    ("department,department", "all", r"names a dimension twice"),
    ("department", "month", r"unknown period 'month'; valid periods: week, none, all"),
    ("department", "week", r"--by department --period week is not offered.*Offered: --by department --period all"),
])
def test_an_unknown_grouping_or_period_is_refused_naming_the_valid_ones(by, period, message):
    with pytest.raises(WorksCouncilError, match=message):
        figures.collection_view(by, period)


# ---- requests -----------------------------------------------------------------


def test_no_requests_give_a_clearly_labelled_empty_release(tmp_path):
    from tests.conftest import make_settings

    release = figures.request_release(make_settings(tmp_path), None, lambda engine: None)
    assert release.empty and release.empty_message.startswith("No requests recorded yet")
    assert all(frame.is_empty() for frame in release.views.values())
    assert council_tables.display_table(release, ("kind", "status")).is_empty()


def test_an_empty_family_publishes_empty_views():
    out = access([], 5)
    assert set(out) == set(figures.ACCESS_VIEWS)
    assert all(frame.is_empty() and "people" in frame.columns for frame in out.values())


def test_a_request_source_is_pluggable(tmp_path):
    from tests.conftest import make_settings

    rows = [(f"p{i}", "erasure", "completed", i % 4 != 0) for i in range(20)]
    source = lambda engine: pl.DataFrame(rows, schema=list(figures.REQUEST_COLUMNS), orient="row")  # noqa: E731
    release = figures.request_release(make_settings(tmp_path), None, source)
    assert not release.empty
    deadline = {r["deadline"]: r["people"] for r in release.view(("kind", "deadline")).iter_rows(named=True)}
    assert deadline == {"met": 15, "missed": 5}


@pytest.mark.parametrize(("frame", "message"), [
    (pl.DataFrame({"person": ["a"], "kind": ["erasure"]}), r"lacks column\(s\) status, met_deadline"),
    (pl.DataFrame({"person": ["a"], "kind": ["erasure"], "status": ["completed"], "met_deadline": ["soon"]}),
     r"wrong type"),
    (pl.DataFrame({"person": [None], "kind": ["erasure"], "status": ["completed"], "met_deadline": [True]},
                  schema_overrides={"person": pl.String}), r"empty person"),
])
def test_a_malformed_request_source_is_named(frame, message):
    with pytest.raises(WorksCouncilError, match=message):
        figures.request_facts(frame)


# ---- settings and noise --------------------------------------------------------


@pytest.mark.parametrize(("overrides", "message"), [
    ({"k_anonymity": 1}, "PORTAL_K_ANONYMITY must be at least 2"),
    ({"dp_epsilon": -0.5}, "PORTAL_DP_EPSILON must be a positive number"),
])
def test_settings_that_bypassed_validation_still_show_nothing(tmp_path, overrides, message):
    from portal.core.settings import Settings

    values = {"data_dir": tmp_path, "database_url": None, "k_anonymity": 5, "dp_epsilon": None} | overrides
    bad = Settings.model_construct(**values)
    with pytest.raises(WorksCouncilError, match=message):
        figures.request_release(bad, None)


def test_noise_keeps_hidden_cells_hidden_and_changes_shown_counts():
    rows = grid({("Legal", CATEGORIES[0]): 4, ("Sales", CATEGORIES[0]): 300, ("Finance", CATEGORIES[0]): 200})
    facts = pl.DataFrame(rows, schema=COLLECTION, orient="row")
    exact = figures.publish_collection(facts, 5)
    noisy = figures.publish_collection(facts, 5, epsilon=0.5)
    for view in exact:
        assert noisy[view]["suppressed"].to_list() == exact[view]["suppressed"].to_list()
        hidden = noisy[view].filter(pl.col("suppressed"))
        assert hidden["people"].null_count() == hidden["records"].null_count() == hidden.height
    assert not noisy[()].equals(exact[()])


def test_a_week_starts_on_monday_in_the_rollup_as_in_the_aggregates():
    moments = [dt.datetime(2026, 10, 4, 23, 59, 59, 999999), dt.datetime(2026, 10, 5), dt.datetime(2026, 10, 11, 23),
               dt.datetime(2026, 10, 12), dt.datetime(1970, 1, 1), dt.datetime(1969, 12, 28, 12)]
    us = np.array([int((m - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000) for m in moments])
    mondays = (pl.DataFrame({"w": volume_rollup.week_of(us)})
               .select((pl.col("w") * 7 - 3).cast(pl.Int32).cast(pl.Date))["w"].to_list())
    expected = pl.DataFrame({"t": moments}).select(aggregates.week_start("t"))["t"].to_list()
    assert mondays == expected


# ---- layering -------------------------------------------------------------------


@pytest.mark.parametrize("module", ["figures", "exposure", "grants", "volume_rollup", "releases"])
def test_the_domain_modules_do_not_import_streamlit(module):
    tree = ast.parse(next((ROOT / "portal").rglob(f"{module}.py")).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "streamlit" not in imported


@pytest.mark.parametrize("page", ["council_overview.py", "exposure.py"])
def test_the_council_pages_stay_thin(page):
    source = (ROOT / "app_pages" / page).read_text()
    tree = ast.parse(source)
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not imported & {"polars", "sqlalchemy", "deltalake", "pyarrow", "pandas"}
    assert "pl." not in source and "SELECT" not in source.upper().replace("SELECTBOX", "")


def test_a_release_stored_in_an_older_format_has_another_key_so_it_is_recomputed(monkeypatch):
    """Releases stored before people were rounded must not be shown again after an upgrade."""
    current = figures._key(figures.COLLECTION, ["lake versions"], 5, None)
    monkeypatch.setattr(figures, "RELEASE_FORMAT", 1)
    assert figures._key(figures.COLLECTION, ["lake versions"], 5, None) != current
