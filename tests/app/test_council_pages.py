"""The works council's pages through AppTest: who reaches them, what they show, what they never show."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal.core import catalog, db
from portal import cli
from portal.council import figures
from portal.core.settings import load_settings
from tests.app.conftest import signed_in

OVERVIEW, EXPOSURE = "app_pages/council_overview.py", "app_pages/exposure.py"
NAMES = {c.name: c.key for c in catalog.CATEGORIES}


def texts(at):
    parts = [e.value for e in at.title] + [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [e.label for e in at.metric]
    return "\n".join(str(p) for p in parts)


def everything(at):
    """All text and every table cell on the page."""
    frames = [df.value.astype(str).to_csv() for df in at.dataframe]
    return texts(at) + "\n" + "\n".join(frames)


def opened(app, sub, page):
    at = app(signed_in(sub))
    at.run()
    at.switch_page(page).run()
    return at


def other_people(app_data_dir, *keep):
    engine = db.make_engine(load_settings(data_dir=app_data_dir).resolved_database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(db.employees.c.display_name, db.employees.c.email,
                                      db.employees.c.employee_id)).all()
        actors = [r[0] for r in conn.execute(sa.select(db.actors.c.actor_id).where(db.actors.c.kind == "person"))]
    engine.dispose()
    return [v for r in rows for v in r if r[0] not in keep] + actors


def test_wanda_sees_the_council_overview_with_k_stated_at_the_top(app):
    at = opened(app, "wanda", OVERVIEW)
    assert not at.exception
    assert at.title[0].value == "Council overview"
    assert at.info[0].value.startswith("Every figure describes at least 5 people")
    assert len(at.dataframe) == 4  # collection, access, requests by status and by deadline
    assert "No requests recorded yet" not in texts(at)
    # The small demo company's few requests describe fewer than 5 people: every request figure is hidden.
    for table in at.dataframe[2:]:
        assert set(table.value["People"]) == {"hidden"}
    totals = {m.label: m.value for m in at.metric}  # the grand total, then one figure per kind on record
    assert {"All requests", "Objection"} <= set(totals) <= {"All requests", "Erasure", "Objection", "Copy of their data"}
    assert all(v == "hidden" or v.replace(",", "").isdigit() for v in totals.values())
    assert any(c.value.startswith("A cell is hidden when fewer than 5 people are behind it") for c in at.caption)


def test_hidden_cells_read_hidden_with_the_reason_beside_them_never_blank(app):
    at = opened(app, "wanda", OVERVIEW)
    at.selectbox(key="collection-grouping").select("Department × category × week").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["Department", "Category", "Week from", "People", "Records"]
    assert (table["People"] == "hidden").any()
    assert not table.isna().any().any() and not (table == "").any().any()
    hidden = int((table["People"] == "hidden").sum())
    summary = f"{hidden:,} of {len(table):,} figures are hidden. A cell is hidden when fewer than 5 people"
    assert any(c.value.startswith(summary) for c in at.caption)


def test_the_command_prints_exactly_the_figures_of_the_page(app, app_data_dir, monkeypatch, capsys):
    at = opened(app, "wanda", OVERVIEW)
    table = at.dataframe[0].value
    monkeypatch.setenv("PORTAL_DATA_DIR", str(app_data_dir))
    figures.forget_cached_copies()  # as a separate process would: nothing in memory
    assert cli.main(["aggregates", "--by", "department,category", "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)

    def number(cell):
        return None if cell == "hidden" else int(cell.replace(",", ""))

    on_page = [{"department": r["Department"], "category": NAMES[r["Category"]], "people": number(r["People"]),
                "records": number(r["Records"])} for r in table.to_dict("records")]
    assert on_page == printed
    assert any(c["people"] is not None for c in printed)


def test_the_council_overview_names_nobody(app, app_data_dir):
    at = opened(app, "wanda", OVERVIEW)
    at.selectbox(key="collection-grouping").select("Department × category × week").run()
    shown = everything(at)
    leaked = [v for v in other_people(app_data_dir, "Wanda Nowak") if v in shown]
    assert leaked == []


def test_wanda_sees_the_exposure_page_with_the_transcript_breach_first(app):
    at = opened(app, "wanda", EXPOSURE)
    assert not at.exception
    assert at.title[0].value == "Exposure"
    assert at.error[0].value.startswith("**Meeting transcription: policy breached.**")
    assert "all-engineering" in at.error[0].value
    assert at.metric[0].label == "Categories breached" and int(at.metric[0].value) == 1
    assert at.metric[1].label == "Over the maximum" and int(at.metric[1].value) == 0  # nothing drowns the breach
    assert len(at.error) == 1 and not at.warning
    summary = at.dataframe[0].value
    assert summary.iloc[0]["Category"] == "Meeting transcription"
    assert summary.iloc[0]["Verdict"] == "breach: role not allowed"
    performance = summary[summary["Category"] == "Performance records"].iloc[0]
    assert performance["Verdict"] == "within policy" and performance["Limit set by"] == "catalog"
    assert performance["Scoped readers"].startswith("line-managers, only their direct reports: ")


def test_the_exposure_page_counts_readers_and_names_nobody(app, app_data_dir):
    at = opened(app, "wanda", EXPOSURE)
    shown = everything(at)
    leaked = [v for v in other_people(app_data_dir, "Wanda Nowak") if v in shown]
    assert leaked == []


def test_priya_of_the_privacy_office_sees_exposure_and_the_overview(app):
    for page, title in ((EXPOSURE, "Exposure"), (OVERVIEW, "Council overview")):
        at = opened(app, "priya", page)
        assert not at.exception
        assert at.title[0].value == title


@pytest.mark.parametrize("page", [OVERVIEW, EXPOSURE])
def test_alice_opening_a_council_page_directly_is_refused_and_sees_no_figures(app, page):
    at = app(signed_in("alice"), script=page)
    at.run()
    assert not at.exception
    assert "do not have access" in at.error[0].value
    assert not at.dataframe and not at.metric and not at.get("plotly_chart")


@pytest.mark.parametrize("page", [OVERVIEW, EXPOSURE])
def test_the_council_pages_are_not_in_alices_navigation(app, page):
    at = app(signed_in("alice"))
    at.run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


@pytest.mark.parametrize("page", [OVERVIEW, EXPOSURE])
def test_a_visitor_who_is_not_signed_in_is_refused(app, page):
    at = app(script=page)
    at.run()
    assert "sign in" in at.error[0].value
    assert not at.dataframe


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("PORTAL_K_ANONYMITY", "1", "PORTAL_K_ANONYMITY"),
    ("PORTAL_DP_EPSILON", "-0.5", "PORTAL_DP_EPSILON"),
    ("PORTAL_DP_EPSILON", "1e-300", "PORTAL_DP_EPSILON"),
    ("PORTAL_MAX_SESSION_HOURS", "nan", "PORTAL_MAX_SESSION_HOURS"),
])
@pytest.mark.parametrize("page", [OVERVIEW, EXPOSURE])
def test_bad_privacy_settings_show_the_message_and_no_figures(app, monkeypatch, variable, value, message, page):
    monkeypatch.setenv(variable, value)
    at = app(signed_in("wanda"), script=page)
    at.run()
    assert not at.exception
    assert message in at.error[0].value
    assert not at.dataframe and not at.metric


def test_with_noise_the_overview_says_so_and_shows_epsilon(app, monkeypatch):
    monkeypatch.setenv("PORTAL_DP_EPSILON", "0.8")
    at = opened(app, "wanda", OVERVIEW)
    assert not at.exception
    assert "ε = 0.8" in texts(at)
