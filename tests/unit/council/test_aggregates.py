"""Tests for portal.council.aggregates: suppression of small groups in published views."""

from __future__ import annotations

import ast
import datetime as dt
import itertools
import math
import pathlib
import random

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.council import aggregates
from portal.council.aggregates import add_noise, publish, week_start

DIMS = ("department", "category", "week")
LATTICE = [v for r in range(4) for v in itertools.combinations(DIMS, r)]
FAMILY = [("department", "category", "week"), ("department", "category"),
          ("department",), ("category",), ()]
WEEKS = [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(3)]
COLUMNS = ["person", *DIMS, "records"]
PROPERTY = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw):
    """A small fact table with skewed departments, plus a family of views and k."""
    seed = draw(st.integers(0, 2**32 - 1))
    n_people = draw(st.integers(1, 60))
    n_dep, n_cat, n_week = (draw(st.integers(1, n)) for n in (4, 4, 3))
    several_departments = draw(st.booleans())
    k = draw(st.integers(2, 6))
    views = draw(st.lists(st.sampled_from(LATTICE), min_size=1, max_size=8, unique=True))
    exact = draw(st.booleans())
    rng = random.Random(seed)
    weights = [rng.random() ** 3 + 0.02 for _ in range(n_dep)]
    rows = []
    for p in range(n_people):
        deps = {rng.choices(range(n_dep), weights)[0]}
        if several_departments and rng.random() < 0.2:
            deps.add(rng.randrange(n_dep))
        for d in deps:
            for c in rng.sample(range(n_cat), rng.randint(1, n_cat)):
                for w in rng.sample(range(n_week), rng.randint(1, n_week)):
                    rows.append((f"p{p}", f"d{d}", f"c{c}", WEEKS[w], rng.randint(0, 20)))
                    if rng.random() < 0.05:  # a second fact row for the same group
                        rows.append((f"p{p}", f"d{d}", f"c{c}", WEEKS[w], rng.randint(0, 20)))
    return rows, views, k, exact


def run(rows, views, k, exact=False):
    facts = pl.DataFrame(rows, schema=COLUMNS, orient="row")
    return publish(facts, list(DIMS), views, ["records"], k, exact_people=exact)


def rounded(n, k):
    """The published people figure: the nearest multiple of k, halves up."""
    return int(k * math.floor(n / k + 0.5))


def true_counts(published, k):
    """Every true count of a shown cell (at least k) that is published as ``published``."""
    return [n for n in range(k, published + k) if rounded(n, k) == published]


def brute_cells(rows, view):
    """{keys: set of fact-row indices} for one view, straight from the rows."""
    cells: dict[tuple, set[int]] = {}
    for i, row in enumerate(rows):
        cells.setdefault(tuple(row[COLUMNS.index(d)] for d in view), set()).add(i)
    return cells


def persons(rows, idx):
    return {rows[i][0] for i in idx}


def small(n, k):
    return 1 <= n < k


def published_cells(out, view):
    """{keys: row dict} for one published view."""
    return {tuple(r[d] for d in view): r for r in out[view].iter_rows(named=True)}


def nested_pairs(views):
    return [(p, v) for p in views for v in views if set(p) < set(v)]


def parent_keys(parent, view, keys):
    return tuple(keys[view.index(d)] for d in parent)


@PROPERTY
@given(scenarios())
def test_no_shown_cell_describes_fewer_than_k_people(scenario):
    rows, views, k, exact = scenario
    out = run(rows, views, k, exact)
    for view in views:
        expected = brute_cells(rows, view)
        shown = published_cells(out, view)
        assert set(shown) == set(expected)
        for keys, cell in shown.items():
            if not cell["suppressed"]:
                assert len(persons(rows, expected[keys])) >= k
                assert cell["people"] is not None and cell["people"] >= k
            else:
                assert cell["people"] is None and cell["records"] is None


@PROPERTY
@given(scenarios())
def test_no_two_nested_shown_cells_differ_by_a_small_group(scenario):
    rows, views, k, exact = scenario
    out = run(rows, views, k, exact)
    for parent, view in nested_pairs(views):
        big, fine = brute_cells(rows, parent), brute_cells(rows, view)
        shown_big = {key: c for key, c in published_cells(out, parent).items() if not c["suppressed"]}
        for keys, cell in published_cells(out, view).items():
            a = parent_keys(parent, view, keys)
            if cell["suppressed"] or a not in shown_big:
                continue
            # who a measure difference describes
            assert not small(len(persons(rows, big[a] - fine[keys])), k)
            # what a difference of `people` reveals: exact counts must not differ by a small group;
            # rounded ones must leave the difference open (consistent with at least two values)
            missing = len(persons(rows, big[a]) - persons(rows, fine[keys]))
            if exact:
                assert not small(missing, k)
            else:
                differences = {x - y for x in true_counts(shown_big[a]["people"], k)
                               for y in true_counts(cell["people"], k) if y <= x}
                assert missing in differences
                if small(missing, k):
                    assert len(differences) >= 2


@PROPERTY
@given(scenarios())
def test_a_parent_minus_its_shown_children_never_isolates_a_small_group(scenario):
    rows, views, k, exact = scenario
    out = run(rows, views, k, exact)
    for parent, view in nested_pairs(views):
        big, fine = brute_cells(rows, parent), brute_cells(rows, view)
        children: dict[tuple, list[tuple]] = {}
        for keys, cell in published_cells(out, view).items():
            children.setdefault(parent_keys(parent, view, keys), []).append((keys, cell))
        for a, cell in published_cells(out, parent).items():
            if cell["suppressed"]:
                continue
            shown = [keys for keys, c in children[a] if not c["suppressed"]]
            hidden = [keys for keys, c in children[a] if c["suppressed"]]
            covered = set().union(*(persons(rows, fine[s]) for s in shown))
            assert not small(len(persons(rows, big[a]) - covered), k)
            rest = big[a] - set().union(*(fine[s] for s in shown))
            assert not small(len(persons(rows, rest)), k)
            assert len(hidden) != 1


@PROPERTY
@given(scenarios())
def test_shown_figures_equal_a_brute_force_recount(scenario):
    rows, views, k, exact = scenario
    out = run(rows, views, k, exact)
    for view in views:
        expected = brute_cells(rows, view)
        for keys, cell in published_cells(out, view).items():
            if not cell["suppressed"]:
                assert cell["records"] == sum(rows[i][-1] for i in expected[keys])
                people = len(persons(rows, expected[keys]))
                assert cell["people"] == (people if exact else rounded(people, k))


def solvable_cells(out, views):
    """Suppressed cells that linear algebra over the published margins pins down exactly."""
    unknown = {(v, key): i for i, (v, key) in enumerate(
        (v, key) for v in views for key, c in published_cells(out, v).items() if c["suppressed"])}
    equations = []
    for parent, view in nested_pairs(views):
        for a in published_cells(out, parent):
            row = np.zeros(len(unknown))
            if (parent, a) in unknown:
                row[unknown[parent, a]] = 1
            for keys in published_cells(out, view):
                if parent_keys(parent, view, keys) == a and (view, keys) in unknown:
                    row[unknown[view, keys]] -= 1
            equations.append(row)
    if not unknown or not equations:
        return []
    matrix = np.array(equations)
    rank = np.linalg.matrix_rank(matrix)
    return [cell for cell, i in unknown.items()
            if np.linalg.matrix_rank(np.vstack([matrix, np.eye(len(unknown))[i]])) == rank]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_no_suppressed_cell_can_be_solved_from_the_published_margins(scenario):
    rows, views, k, exact = scenario
    assert solvable_cells(run(rows, views, k, exact), views) == []


@st.composite
def large_companies(draw):
    """Departments of at least 4k people; in every week up to a quarter of each department is away,
    and up to a quarter had some categories erased or never had them (requests, part-time roles)."""
    seed = draw(st.integers(0, 2**32 - 1))
    k = draw(st.integers(2, 6))
    n_dep, n_cat, n_week = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    rng = random.Random(seed)
    rows = []
    for d in range(n_dep):
        size = rng.randint(4 * k, 4 * k + 12)
        members = [f"d{d}p{i}" for i in range(size)]
        without = {p: set(rng.sample(range(n_cat), rng.randint(1, n_cat)))
                   for p in rng.sample(members, rng.randint(0, size // 4))}
        for w in range(n_week):
            away = set(rng.sample(members, rng.randint(0, size // 4)))
            for p in members:
                if p in away:
                    continue
                rows += [(p, f"d{d}", f"c{c}", WEEKS[w], rng.randint(1, 50))
                         for c in range(n_cat) if c not in without.get(p, ())]
    return rows, k


@PROPERTY
@given(large_companies())
def test_suppression_is_proportionate_when_every_department_has_at_least_4k_people(company):
    rows, k = company
    out = run(rows, LATTICE[1:] + [()], k)
    cells = sum(frame.height for frame in out.values())
    hidden = sum(int(frame["suppressed"].sum()) for frame in out.values())
    assert hidden <= 0.05 * cells, f"{hidden} of {cells} cells hidden"


def test_exact_people_counts_hide_the_week_two_people_were_away_and_one_more_beside_it():
    """Why people counts are rounded: with exact counts, the week's difference from the period is
    the number of people away that week, so that week is hidden, and a second to protect it."""
    members = [f"p{i}" for i in range(40)]
    rows = [(p, "d", "c", WEEKS[w], 10) for w in range(3) for p in members if not (w == 1 and p in members[:2])]
    views = [("department", "category", "week"), ("department", "category")]
    assert run(rows, views, 5, exact=True)[views[0]]["suppressed"].to_list() == [True, True, False]
    shown = run(rows, views, 5)[views[0]]
    assert not shown["suppressed"].any()
    assert shown["people"].to_list() == [40, 40, 40]  # 38 people in the second week, rounded


@pytest.mark.parametrize(("k", "counts", "published"), [
    (5, [5, 6, 7, 8, 12, 13, 97], [5, 5, 5, 10, 10, 15, 95]),
    (2, [2, 3, 4, 5], [2, 4, 4, 6]),
    (10, [10, 14, 15, 24, 25], [10, 10, 20, 20, 30]),
])
def test_people_counts_are_rounded_to_the_nearest_multiple_of_k_halves_up(k, counts, published):
    assert aggregates.round_people(np.array(counts), k).tolist() == published


def grid_rows(sizes: dict[tuple[str, str], int]):
    rows = []
    for (dep, cat), n in sizes.items():
        rows += [(f"{dep}-{cat}-{i}", dep, cat, WEEKS[0], 1) for i in range(n)]
    return rows


def test_a_department_with_four_people_is_suppressed_at_k_5():
    rows = grid_rows({("big", "a"): 12, ("small", "a"): 4, ("mid", "a"): 9})
    dep = run(rows, [("department",), ()], 5)[("department",)]
    small_row = dep.filter(pl.col("department") == "small").row(0, named=True)
    assert small_row == {"department": "small", "people": None, "records": None,
                         "suppressed": True}


def test_a_single_suppressed_child_triggers_a_complementary_suppression():
    rows = grid_rows({("big", "a"): 12, ("small", "a"): 4, ("mid", "a"): 9})
    dep = run(rows, [("department",), ()], 5)[("department",)]
    hidden = dict(dep.select("department", "suppressed").iter_rows())
    # the total (25) minus big and mid would give away "small"; mid is the smallest shown
    assert hidden == {"big": False, "mid": True, "small": True}


def test_a_cell_solvable_only_through_a_chain_of_margins_is_protected():
    small_cells = {(1, 1), (1, 2), (2, 1), (2, 2), (3, 3), (3, 4), (4, 3), (4, 4), (2, 3)}
    sizes = {(f"r{r}", f"c{c}"): 3 if (r, c) in small_cells else 10
             for r in range(1, 6) for c in range(1, 6)}
    views = [("department", "category"), ("department",), ("category",)]
    out = run(grid_rows(sizes), views, 5)
    # the nine primary cells alone would let (r2, c3) be solved as r1 + r2 - c1 - c2
    assert out[("department", "category")]["suppressed"].sum() > len(small_cells)
    assert solvable_cells(out, views) == []


def test_people_in_several_categories_are_counted_once():
    rows = [(f"p{i}", "d", c, WEEKS[0], 1) for i in range(6) for c in ("a", "b")]
    out = run(rows, [("category",), ()], 5, exact=True)
    assert out[()].row(0, named=True) == {"people": 6, "records": 12, "suppressed": False}
    assert out[("category",)]["people"].to_list() == [6, 6]


def test_a_lazy_frame_and_the_standard_family_are_accepted():
    rows = grid_rows({(d, c): 7 for d in ("x", "y") for c in ("a", "b")})
    lazy = pl.DataFrame(rows, schema=COLUMNS, orient="row").lazy()
    out = publish(lazy, list(DIMS), FAMILY, ["records"], 5)
    assert set(out) == set(FAMILY)
    assert out[()]["people"].to_list() == [30]  # 28 people, rounded to a multiple of 5
    assert not out[("department", "category", "week")]["suppressed"].any()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"views": [("department", "site")]}, r"unknown dimension\(s\) \['site'\]; known dimensions: "
                                          r"\['department', 'category', 'week'\]"),
    ({"k": 1}, r"k must be an integer >= 2 \(got 1\)"),
    ({"measures": ["minutes"]}, r"missing measure column\(s\) \['minutes'\]"),
    ({"views": []}, r"views is empty"),
    ({"views": [("department", "week"), ("week", "department")]}, r"are the same view"),
])
def test_invalid_arguments_raise_a_value_error_naming_the_problem(kwargs, message):
    args = {"views": [("department",)], "measures": ["records"], "k": 5} | kwargs
    facts = pl.DataFrame(grid_rows({("x", "a"): 6}), schema=COLUMNS, orient="row")
    with pytest.raises(ValueError, match=message):
        publish(facts, list(DIMS), args["views"], args["measures"], args["k"])


def test_week_start_truncates_to_the_iso_monday():
    frame = pl.DataFrame({"at": [dt.datetime(2024, 1, 3, 17), dt.datetime(2024, 1, 7, 23, 59),
                                 dt.datetime(2024, 1, 8), dt.datetime(2024, 12, 31, 8)]})
    weeks = frame.select(week_start("at"))["at"].to_list()
    assert weeks == [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 8),
                     dt.date(2024, 12, 30)]
    dates = pl.DataFrame({"d": [dt.date(2024, 3, 10)]}).select(week_start(pl.col("d")))
    assert dates["d"].to_list() == [dt.date(2024, 3, 4)]


def noisy_input():
    sizes = {("big", "a"): 400, ("mid", "a"): 300, ("small", "a"): 3, ("tiny", "a"): 2}
    return run(grid_rows(sizes), [("department",), ()], 5)[("department",)]


def test_noise_never_reveals_a_suppressed_cell():
    frame = noisy_input()
    for seed in (None, 7):
        noisy = add_noise(frame, 0.5, ["people", "records"], seed=seed)
        assert noisy["suppressed"].to_list() == frame["suppressed"].to_list()
        hidden = noisy.filter(pl.col("suppressed"))
        assert hidden["people"].null_count() == hidden.height == 2
        assert hidden["records"].null_count() == 2
        assert noisy.filter(~pl.col("suppressed"))["people"].null_count() == 0


def test_seeded_noise_is_reproducible_and_changes_values():
    frame = noisy_input()
    first = add_noise(frame, 0.05, ["people", "records"], seed=11)
    assert first.equals(add_noise(frame, 0.05, ["people", "records"], seed=11))
    assert not first.equals(frame)


def test_opendp_noise_runs_and_keeps_integer_counts():
    frame = noisy_input()
    noisy = add_noise(frame, 0.05, ["people"], sensitivity={"people": 1})
    assert noisy["people"].dtype == pl.Int64
    shown = noisy.filter(~pl.col("suppressed"))["people"]
    assert shown.min() >= 0 and shown.len() == 2


@pytest.mark.parametrize("epsilon", [-1.0, 0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_epsilon_is_rejected(epsilon):
    with pytest.raises(ValueError, match="epsilon must be a finite number > 0"):
        add_noise(noisy_input(), epsilon, ["people"])


def test_the_aggregates_module_does_not_import_streamlit():
    tree = ast.parse(pathlib.Path(aggregates.__file__).read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in getattr(node, "names", [])}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "streamlit" not in imported
