"""My data's chart of records per day: the figure the page sends the browser."""

import json
from datetime import date, timedelta

import plotly.express as px
import plotly.io as pio
import polars as pl
import pytest

from portal import charts
from portal.core import catalog


def express_daily_volume(frame: pl.DataFrame):
    """The records-per-day chart as plotly express draws it (what charts.daily_volume called before it was
    built from graph objects, which takes a third of the time), the rows sorted by day stably."""
    fig = px.bar(frame.sort("day", maintain_order=True), x="day", y="records", color="category",
                 labels={"day": "Day", "records": "Records per day", "category": "Category"},
                 color_discrete_map=catalog.colours_by_name())
    fig.update_layout(barmode="stack", height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, hovermode="x unified")
    return fig


def spec(fig) -> dict:
    """What the browser gets: the figure's JSON, as st.plotly_chart serialises it."""
    return json.loads(pio.to_json(fig, validate=False))


@pytest.fixture(params=["plotly", "simple_white"])
def template(request):
    previous = pio.templates.default
    pio.templates.default = request.param
    yield request.param
    pio.templates.default = previous


def test_daily_volume_is_the_figure_plotly_express_draws(template):
    start = date(2026, 9, 1)
    categories = ["Keystrokes", "Chat messages", "Performance records", "Meeting transcripts",
                  "Application usage", "Mouse movement", "Seventh category", "Eighth", "Ninth", "Tenth", "Eleventh"]
    rows = [{"day": start + timedelta(days=d), "category": c, "records": (d * 7 + i * 13) % 400 + i}
            for d in range(40) for i, c in enumerate(categories) if (d + i) % 3]  # gaps: not every category daily
    frame = pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=3)  # the order the store returns may vary
    assert spec(charts.daily_volume(frame)) == spec(express_daily_volume(frame))


def test_daily_volume_of_one_record_and_of_none():
    one = pl.DataFrame({"day": [date(2026, 9, 1)], "category": ["Chat <b>messages</b>"], "records": [70_000]})
    assert spec(charts.daily_volume(one)) == spec(express_daily_volume(one))
    none = charts.daily_volume(one.clear())
    assert not none.data
    assert none.layout.annotations[0].text == "No records"


def test_a_category_has_its_catalogs_colour_whoever_the_chart_is_for():
    day = date(2026, 9, 1)
    names = [c.name for c in catalog.CATEGORIES][:3]

    def colours(order):
        frame = pl.DataFrame({"day": [day] * len(order), "category": order, "records": [1] * len(order)})
        return {bar.name: bar.marker.color for bar in charts.daily_volume(frame).data}

    assert colours(names) == colours(names[::-1]) == colours(names[1:]) | {names[0]: catalog.colours()[
        catalog.CATEGORIES[0].key]}
    assert colours(names)[names[0]] == catalog.colours()[catalog.CATEGORIES[0].key]
