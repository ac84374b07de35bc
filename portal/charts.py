"""Plotly figure builders: pure functions from frames to figures."""

from __future__ import annotations

import sys
import textwrap

import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl

from portal.core import catalog
from portal.core.i18n import _

from portal.core.plain_text import clean


def daily_volume(frame: pl.DataFrame) -> go.Figure:
    """Stacked bars of records per day, one colour per category (columns day, category, records).

    The figure ``px.bar(frame, x="day", y="records", color="category")`` draws, built from graph objects:
    plotly express spends about 50 ms of CPU on it, half of what rendering My data costs the server;
    graph objects 15 ms (``tests/app/test_my_data_chart.py`` holds the two to the same figure).
    Each category takes its colour from the catalog (:func:`portal.core.catalog.colours_by_name`), the same on
    every chart and for every person.
    """
    if frame.is_empty():
        fig = go.Figure()
        fig.update_layout(annotations=[{"text": _("No records"), "showarrow": False}])
        return fig
    frame = frame.sort("day", maintain_order=True)
    template = pio.templates[pio.templates.default] if pio.templates.default else go.layout.Template()
    colours = px.defaults.color_discrete_sequence or template.layout.colorway or px.colors.qualitative.D3
    by_name = catalog.colours_by_name()
    # A category the catalog does not colour (a stale name) takes the template's next colour, counted after the
    # catalog's, as plotly express counts a colour map's values.
    others = iter(range(len(by_name), 10**9))
    bars = []
    for name, rows in frame.group_by("category", maintain_order=True):
        bars.append(go.Bar(
            x=rows.get_column("day").to_numpy(), y=rows.get_column("records").to_numpy(),
            name=name[0], legendgroup=name[0], showlegend=True, orientation="v", textposition="auto",
            marker={"color": by_name.get(name[0]) or colours[next(others) % len(colours)], "pattern": {"shape": ""}},
            xaxis="x",
            yaxis="y",
            hovertemplate=f"{_('Category')}={name[0]}<br>{_('Day')}=%{{x}}<br>{_('Records per day')}=%{{y}}"
                          "<extra></extra>",
        ))
    return go.Figure(data=bars, layout={
        "xaxis": {"anchor": "y", "domain": [0.0, 1.0], "title": {"text": _("Day")}},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": _("Records per day")}},
        "legend": {"title": {"text": _("Category")}, "tracegroupgap": 0,
                   "orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10}, "barmode": "stack", "height": 360, "hovermode": "x unified",
    })


FLAG_COLOURS = {"flagged": "#d62728", "not flagged": "#1f77b4"}


def _plain(text: object) -> str:
    """Text for plotly labels and hover boxes, which read a subset of HTML: tags come out as text, and
    bidi controls are dropped (:func:`portal.core.plain_text.clean`)."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _wrap(text: str, width: int = 60) -> str:
    """Plain text broken into hover-box lines of about ``width`` characters."""
    return "<br>".join(_plain(line) for line in textwrap.wrap(text, width))


def _settled_pandas() -> None:
    """Wait while another thread is still importing pandas.

    Plotly looks pandas up in ``sys.modules`` without importing it. When another
    Streamlit session is halfway through importing pandas (delta-rs pulls it in on
    first use), plotly finds a half-initialised module and fails. An import
    statement blocks until that import has finished.
    """
    if "pandas" in sys.modules:
        import pandas  # noqa: F401


def access_timeline(frame: pl.DataFrame) -> go.Figure:
    """One marker per read of the person's data: time across, category down, flagged reads in red.

    Columns: when, category, who, kind, records, purpose, action, flag, reason (see
    ``my_access.timeline_frame``); categories are drawn top to bottom in the order
    they first appear in the frame. Marker size grows with the log of the record
    count, so one bulk export does not drown out single reads.
    """
    _settled_pandas()
    if frame.is_empty():
        fig = go.Figure()
        fig.update_layout(annotations=[{"text": _("No reads"), "showarrow": False}], height=200)
        return fig
    rows = frame.get_column("category").unique(maintain_order=True).to_list()  # top to bottom, as given
    # The legend says flag and reader kind in the run's language; the frame carries them as codes.
    flags = {"flagged": _("flagged"), "not flagged": _("not flagged")}
    kinds = {"person": _("person"), "service": _("service")}
    data = frame.with_columns(
        pl.col("who", "purpose", "reason").map_elements(_plain, return_dtype=pl.String),
        pl.col("flag").replace(flags), pl.col("kind").replace(kinds),
        size=(pl.col("records").clip(0) + 1).log10() * 3 + 6,
    ).sort("when")
    fig = px.scatter(
        data, x="when", y="category", color="flag", symbol="kind", size="size", size_max=16,
        color_discrete_map={flags[k]: colour for k, colour in FLAG_COLOURS.items()},
        symbol_map={kinds["person"]: "circle", kinds["service"]: "square"},
        category_orders={"flag": [flags["flagged"], flags["not flagged"]], "category": rows[::-1]},
        custom_data=["who", "purpose", "records", "action", "reason"],
        labels={"when": _("When"), "category": "", "flag": "", "kind": _("Reader")},
    )
    fig.update_traces(
        marker={"line": {"width": 0}, "opacity": 0.8},
        hovertemplate="<b>%{customdata[0]}</b> (%{customdata[3]})<br>%{x|%d %b %Y %H:%M} UTC<br>"
                      + _("{records} records · purpose: {purpose}").format(records="%{customdata[2]:,}",
                                                                           purpose="%{customdata[1]}")
                      + "<br>%{customdata[4]}<extra></extra>",
    )
    fig.update_layout(
        height=140 + 48 * len(rows), margin={"l": 10, "r": 10, "t": 10, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None},
        yaxis={"title": None}, xaxis={"title": None},
    )
    return fig


def lineage_sankey(flows: pl.DataFrame) -> go.Figure:
    """Categories -> dataset versions -> models, link widths in the person's records.

    Columns: source, target, records, stage ("category" for category->dataset links,
    "dataset" for dataset->model links), as ``lineage.flows`` builds them.
    """
    _settled_pandas()
    if flows.is_empty():
        fig = go.Figure()
        fig.update_layout(annotations=[{"text": _("Your data is in no dataset"), "showarrow": False}], height=200)
        return fig
    to_datasets = flows.filter(pl.col("stage") == "category")
    categories = to_datasets.get_column("source").unique(maintain_order=True).to_list()
    datasets = to_datasets.get_column("target").unique(maintain_order=True).to_list()
    models = flows.filter(pl.col("stage") == "dataset").get_column("target").unique(maintain_order=True).to_list()
    labels = [*categories, *datasets, *models]
    index = {name: i for i, name in enumerate(labels)}
    colours = (["#4c78a8"] * len(categories) + ["#f58518"] * len(datasets) + ["#54a24b"] * len(models))
    # Fixed columns: left to itself, plotly moves a dataset that trained no model into the models column.
    size = dict.fromkeys(labels, 0)  # a node's height: what it sends (categories) or receives (the rest)
    for source, target, records, stage in flows.select("source", "target", "records", "stage").iter_rows():
        if stage == "category":
            size[source] += records
        size[target] += records
    pad, top, bottom = 20, 40, 10
    height = max(360, 64 * max(len(categories), len(datasets), len(models)) + top + bottom)
    gap = pad / (height - top - bottom)  # plotly's node padding as a fraction of the plot height
    x = [0.001] * len(categories) + [0.5] * len(datasets) + [0.999] * len(models)
    y = _stacked(categories, size, gap) + _stacked(datasets, size, gap) + _stacked(models, size, gap)
    fig = go.Figure(go.Sankey(
        arrangement="fixed",  # the positions below are final; "snap" would shove nodes off the bottom
        node={"label": [_plain(n) for n in labels], "color": colours, "pad": pad, "thickness": 16, "x": x, "y": y,
              "hovertemplate": "%{label}<br>%{value:,} of your records<extra></extra>"},
        link={"source": [index[s] for s in flows.get_column("source")],
              "target": [index[t] for t in flows.get_column("target")],
              "value": flows.get_column("records").to_list(),
              "color": ["rgba(76,120,168,0.35)" if s == "category" else "rgba(84,162,75,0.35)"
                        for s in flows.get_column("stage")],
              "hovertemplate": "%{source.label} → %{target.label}<br>"
                               + _("{records} of your records").format(records="%{value:,}") + "<extra></extra>"},
    ))
    fig.update_layout(height=height, margin={"l": 10, "r": 10, "t": top, "b": bottom}, font={"size": 13})
    for column_x, text in ((0.0, _("Your categories")), (0.5, _("Training datasets")), (1.0, _("Models"))):
        fig.add_annotation(x=column_x, y=1.06, xref="paper", yref="paper", text=f"<b>{text}</b>", showarrow=False,
                           xanchor={0.0: "left", 0.5: "center", 1.0: "right"}[column_x])
    return fig



# ---- works council --------------------------------------------------------------

HIDDEN_COLOUR = "#d9d9d9"
BREACH_COLOUR = "#d62728"
ALLOWED_COLOUR = "#4c78a8"


def collection_heatmap(frame: pl.DataFrame, hidden: str, why_hidden: str = "") -> go.Figure:
    """Records per department (rows) and category (columns); hidden cells grey, labelled ``hidden``,
    with ``why_hidden`` on hover.

    Columns: department, category, people, records (null when hidden).
    """
    if frame.is_empty():
        return _empty(_("No records"))
    departments = sorted(frame["department"].unique().to_list())
    categories = frame["category"].unique(maintain_order=True).to_list()
    cells = {(r["department"], r["category"]): r for r in frame.iter_rows(named=True)}
    z, text, hover = [], [], []
    for d in departments:
        row_z, row_t, row_h = [], [], []
        for c in categories:
            cell = cells.get((d, c))
            value = None if cell is None else cell["records"]
            row_z.append(value)
            row_t.append(hidden if value is None else f"{value:,}")
            row_h.append(f"{_plain(d)} · {_plain(c)}<br>" + (_wrap(why_hidden or hidden)
                                                              if value is None or cell is None else
                                                              _("{records} records about {people} people").format(
                                                                  records=f"{value:,}", people=f"{cell['people']:,}")))
        z.append(row_z)
        text.append(row_t)
        hover.append(row_h)
    fig = go.Figure(go.Heatmap(
        z=z, x=[_plain(c) for c in categories], y=[_plain(d) for d in departments], text=text, texttemplate="%{text}", customdata=hover,
        hovertemplate="%{customdata}<extra></extra>", colorscale="Blues", colorbar={"title": _("Records")},
        hoverongaps=True, xgap=2, ygap=2,
    ))
    fig.update_layout(height=120 + 36 * len(departments), margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      plot_bgcolor=HIDDEN_COLOUR, yaxis={"autorange": "reversed"})
    return fig


def weekly_collection(frame: pl.DataFrame) -> go.Figure:
    """Records per week, one line per category; hidden weeks are gaps. Columns: week, category, records."""
    if frame.is_empty():
        return _empty(_("No records"))
    fig = px.line(frame.sort("week"), x="week", y="records", color="category", markers=True,
                  color_discrete_map=catalog.colours_by_name(),
                  labels={"week": _("Week from"), "records": _("Records per week"), "category": _("Category")})
    fig.update_traces(connectgaps=False)
    fig.update_layout(height=360, margin={"l": 10, "r": 10, "t": 10, "b": 10}, hovermode="x unified",
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0, "title": None})
    return fig


def access_bars(frame: pl.DataFrame) -> go.Figure:
    """Reads per category, stacked by purpose, one panel per reader kind; hidden cells left out.

    Columns: actor_kind, purpose, category, events (null when hidden).
    """
    shown = frame.filter(pl.col("events").is_not_null()).with_columns(
        pl.col("purpose", "category").map_elements(_plain, return_dtype=pl.String))
    if shown.is_empty():
        return _empty(_("Every figure is hidden"))
    read_by = _("Read by")
    fig = px.bar(shown, x="events", y="category", color="purpose", facet_col="actor_kind", orientation="h",
                 labels={"events": _("Reads"), "category": "", "purpose": _("Purpose"), "actor_kind": read_by})
    fig.for_each_annotation(lambda a: a.update(text=a.text.replace(f"{read_by}=", f"{read_by} ")))
    fig.update_xaxes(matches=None, showticklabels=True)  # people read far less than services
    fig.update_layout(height=380, margin={"l": 10, "r": 10, "t": 30, "b": 10}, barmode="stack",
                      legend={"orientation": "h", "yanchor": "top", "y": -0.15, "x": 0, "title": None})
    return fig


def exposure_trend(weekly: pl.DataFrame) -> go.Figure:
    """Distinct people reading other people's data per week, one panel per category, against the
    category's maximum (dashed). Readers in roles the catalog does not allow are red.

    Columns: name, week, readers_allowed, readers_outside, max.
    """
    if weekly.is_empty():
        return _empty(_("No reads recorded"))
    from plotly.subplots import make_subplots

    names = weekly["name"].unique(maintain_order=True).to_list()
    cols = 3 if len(names) > 4 else 2
    rows = -(-len(names) // cols)
    maxima = {r["name"]: r["max"] for r in weekly.select("name", "max").unique().iter_rows(named=True)}
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, vertical_spacing=0.12, horizontal_spacing=0.06,
                        subplot_titles=[_("{name} (at most {most})").format(name=n, most=maxima[n]) for n in names])
    for i, name in enumerate(names):
        part = weekly.filter(pl.col("name") == name).sort("week")
        r, c = i // cols + 1, i % cols + 1
        for column, colour, legend in (("readers_allowed", ALLOWED_COLOUR, _("in an allowed role")),
                                       ("readers_outside", BREACH_COLOUR, _("in a role not allowed"))):
            fig.add_trace(go.Bar(x=part["week"].to_list(), y=part[column].to_list(), marker_color=colour,
                                 name=legend, legendgroup=legend, showlegend=i == 0,
                                 hovertemplate=_("week from {week}: {readers}").format(
                                     week="%{x|%d %b %Y}", readers="%{y} " + legend) + "<extra></extra>"),
                          row=r, col=c)
        fig.add_trace(go.Scatter(x=part["week"].to_list(), y=[maxima[name]] * part.height, mode="lines",
                                 line={"color": "#ff7f0e", "dash": "dash"}, name=_("maximum"), legendgroup="max",
                                 showlegend=i == 0, hovertemplate=_("maximum") + " %{y}<extra></extra>"), row=r, col=c)
    fig.update_layout(barmode="stack", height=260 * rows + 60, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      legend={"orientation": "h", "yanchor": "bottom", "y": 1.04, "x": 0})
    return fig


def _empty(message: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(annotations=[{"text": message, "showarrow": False}], height=200)
    return fig


def _stacked(names: list[str], size: dict[str, int], gap: float) -> list[float]:
    """Centres in (0, 1) of nodes stacked top to bottom with heights proportional to ``size``.

    Plotly's Sankey only honours node columns when it is given both x and y.
    """
    if not names:
        return []
    total = sum(max(size[n], 1) for n in names)
    # 6% slack: plotly draws very small nodes taller than their share, which would push the last one out.
    free = max(0.0, 1.0 - gap * (len(names) - 1)) * 0.94
    centres, top = [], 0.01
    for n in names:
        height = free * max(size[n], 1) / total
        centres.append(min(0.999, max(0.001, top + height / 2)))
        top += height + gap
    return centres
