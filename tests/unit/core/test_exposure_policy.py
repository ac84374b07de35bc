"""The exposure policy's limits: catalog figures, a company's own, and roles scoped to their own people."""

import ast
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from portal.core import catalog, exposure_policy

PERFORMANCE = "user.workplace.performance"
WEEK = date(2026, 11, 23)


def test_every_category_has_a_distinct_short_name_for_the_setting():
    names = [exposure_policy.short_name(c.key) for c in catalog.CATEGORIES]
    assert len(set(names)) == len(names)
    assert exposure_policy.short_name(PERFORMANCE) == "performance"


def test_a_scoped_role_is_always_one_of_its_categorys_allowed_roles():
    for c in catalog.CATEGORIES:
        allowed = {exposure_policy.norm_role(r) for r in c.allowed_roles}
        assert {exposure_policy.norm_role(s.role) for s in c.scoped_roles} <= allowed, c.key
        assert all(s.readers_per_person >= 1 and s.people_per_reader >= 1 for s in c.scoped_roles)


def test_the_catalogs_limits_apply_unless_the_company_sets_its_own():
    plain = exposure_policy.limits()
    assert all(plain[c.key].max_principals == c.max_principals and not plain[c.key].set_by_company
               for c in catalog.CATEGORIES)
    assert plain[PERFORMANCE].set_by == "catalog"
    own = exposure_policy.limits({"performance": 80})
    assert own[PERFORMANCE].max_principals == 80 and own[PERFORMANCE].set_by == "company (catalog: 30)"
    assert own["user.behavior.keystrokes"] == plain["user.behavior.keystrokes"]


def test_line_managers_are_scoped_in_performance_records_only_however_the_role_is_spelt():
    limits = exposure_policy.limits()
    for spelling in ("line-managers", "line_managers", " Line-Managers "):
        assert limits[PERFORMANCE].scoped_role(spelling).relation == "their direct reports"
    assert limits[PERFORMANCE].scoped_role("hr-business-partners") is None
    assert limits["user.content.private.chat"].scoped_role("line-managers") is None


@pytest.mark.parametrize("bad", [{"performance": 0}, {"nope": 3}, {"chat": "3"}, ["chat"], "{"])
def test_a_bad_limit_is_refused_with_a_value_error(bad):
    with pytest.raises(ValueError):
        exposure_policy.parse_max_principals(bad)


def reads(rows: list[tuple[str, str]], role: str = "line-managers", category: str = PERFORMANCE) -> pl.DataFrame:
    """Scoped reads, one per (reader, person), all in one week."""
    return pl.DataFrame({"category": [category] * len(rows), "role": [role] * len(rows), "week": [WEEK] * len(rows),
                         "actor": [a for a, _ in rows], "subject": [s for _, s in rows]})


def test_scoped_breadth_measures_people_per_reader_and_readers_per_person():
    limits = exposure_policy.limits()
    rows = [("m1", f"p{i}") for i in range(25)] + [("m2", "p0"), ("m3", "p0"), ("m4", "p30")]
    [week] = exposure_policy.scoped_breadth(reads(rows), limits).iter_rows(named=True)
    assert week["readers"] == 4 and week["most_people"] == 25 and week["readers_over"] == 1
    assert week["most_readers"] == 3 and (week["people_per_reader"], week["readers_per_person"]) == (20, 2)


def test_reads_in_roles_that_are_not_scoped_are_not_measured_as_scoped():
    limits = exposure_policy.limits()
    assert exposure_policy.scoped_breadth(reads([("a", "p1")], role="hr-business-partners"), limits).is_empty()
    assert exposure_policy.scoped_breadth(reads([("a", "p1")], category="user.content.private.chat"),
                                          limits).is_empty()
    normalised = exposure_policy.scoped_breadth(reads([("a", "p1")], role="Line_Managers"), limits)
    assert normalised["role"].to_list() == ["line-managers"]


@pytest.mark.parametrize("module", ["exposure_policy", "exposure_findings"])
def test_the_exposure_policy_modules_do_not_import_streamlit(module):
    tree = ast.parse(next(Path(exposure_policy.__file__).parents[1].rglob(f"{module}.py")).read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert "streamlit" not in imported
