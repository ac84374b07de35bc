"""Council overview: what is collected, who reads it, what people asked for; never one person."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal import charts
from portal.council import council_tables, figures
from portal.lake.telemetry import TelemetryError

ctx = ui.require("aggregates:read")
svc = ctx.services

st.title(_("Council overview"))
try:
    with st.spinner(_("Counting what the telemetry tables hold…")):
        data = svc.council_overview(ctx.principal)
except (figures.WorksCouncilError, TelemetryError) as exc:
    st.error(_("**These figures cannot be shown.** {problem}").format(problem=exc))
    st.stop()

st.info(council_tables.k_sentence(data.k), icon=":material/groups:")
if data.epsilon is not None:
    st.caption(council_tables.noise_sentence(data.epsilon))

st.subheader(_("What is collected"))
hidden = council_tables.hidden_label(data.k)
st.plotly_chart(charts.collection_heatmap(council_tables.chart_frame(data.collection, ("department", "category")),
                                          hidden, council_tables.hidden_reason(data.k)), width="stretch")
st.markdown(_("**Records per week**"))
st.plotly_chart(charts.weekly_collection(council_tables.chart_frame(data.collection, ("category", "week"))),
                width="stretch")
st.caption(council_tables.hidden_summary(data.collection, ("category", "week"), gaps=True))
left, right = st.columns([2, 1])
grouping = left.selectbox(_("Group the table by"), list(council_tables.GROUPINGS), key="collection-grouping",
                          format_func=_)
view = council_tables.GROUPINGS[grouping]
st.dataframe(council_tables.display_table(data.collection, view), hide_index=True, width="stretch",
             column_config={_("Week from"): st.column_config.DateColumn(format="YYYY-MM-DD")})
st.caption(council_tables.hidden_summary(data.collection, view))
cells = council_tables.rows(data.collection, view)
right.download_button(_("Download as CSV"), council_tables.to_csv(cells, [*view, "people", "records"]),
                      file_name=f"collection-{'-'.join(view)}.csv", mime="text/csv", icon=":material/download:")

st.subheader(_("Who reads it"))
st.caption(_("Reads of people's data by others, by reader, purpose and category. A person reading their own "
             "data is not counted. The table below the chart holds the same figures."))
st.plotly_chart(charts.access_bars(council_tables.chart_frame(data.access, figures.ACCESS_DIMENSIONS)),
                width="stretch")
st.dataframe(council_tables.display_table(data.access, figures.ACCESS_DIMENSIONS), hide_index=True,
             width="stretch")
st.caption(council_tables.hidden_summary(data.access, figures.ACCESS_DIMENSIONS))

st.subheader(_("Objections and requests"))
if data.requests.empty:
    st.info(data.requests.empty_message, icon=":material/inbox:")
else:
    totals = [*council_tables.rows(data.requests, ()), *council_tables.rows(data.requests, ("kind",))]
    for column, cell in zip(st.columns(len(totals)), totals, strict=True):
        name = council_tables.label("kind", cell["kind"]).capitalize() if "kind" in cell else _("All requests")
        column.metric(name, hidden if cell["requests"] is None else i18n.number(cell["requests"]))
    by_status, by_deadline = st.columns(2)
    by_status.dataframe(council_tables.display_table(data.requests, ("kind", "status")), hide_index=True)
    by_deadline.dataframe(council_tables.display_table(data.requests, ("kind", "deadline")), hide_index=True)
    if any(data.requests.view(v)["suppressed"].any() for v in figures.REQUEST_VIEWS):
        st.caption(council_tables.hidden_reason(data.k))
