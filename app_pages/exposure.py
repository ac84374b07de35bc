"""Exposure: who can read each kind of telemetry, who may, and who did; readers counted, never named."""

import streamlit as st

import ui
from portal.core.i18n import _
from portal import charts
from portal.council import council_tables, exposure
from portal.core.plain_text import md

ctx = ui.require("exposure:read")
svc = ctx.services

st.title(_("Exposure"))
st.caption(_("Per category: who *can* read it (grants), who *may* (the catalog's allowed roles, and its maximum or "
             "the company's own), and who *did*: people who read other people's data, per week. Line managers, who "
             "may read only their direct reports' records, are counted apart and checked per person and per "
             "manager. Readers are counted, never named."))
try:
    report = svc.exposure(ctx.principal)
except ValueError as exc:
    st.error(_("**Exposure cannot be shown.** {problem}").format(problem=exc))
    st.stop()

if report.epsilon is not None:
    st.caption(_("Counts of people whose data was read carry random noise (differential privacy, ε = "
                 "{epsilon}); counts of readers are exact.").format(epsilon=f"{report.epsilon:g}"))
c1, c2, c3 = st.columns(3)
c1.metric(_("Categories breached"), len(report.breached))
c2.metric(_("Over the maximum"), len(report.over_maximum))
c3.metric(_("Within policy"), len(report.within_policy))
for cat in report.breached + report.over_maximum:
    lines = "\n".join(f"- {md(v.text)}" for v in cat.violations)
    if cat.serious:
        st.error(_("**{category}: policy breached.**").format(category=md(cat.name)) + f"\n\n{lines}",
                 icon=":material/report:")
    else:
        st.warning(_("**{category}: over the maximum.**").format(category=md(cat.name)) + f"\n\n{lines}",
                   icon=":material/warning:")
if not report.breached and not report.over_maximum:
    st.success(_("Every category is within policy."))

st.subheader(_("Can read, may read, did read"))
st.dataframe(exposure.summary_frame(report), hide_index=True, width="stretch")

st.subheader(_("People reading other people's data, per week"))
st.plotly_chart(charts.exposure_trend(report.weekly), width="stretch")
with st.expander(_("The chart's figures as a table")):
    st.dataframe(report.weekly, hide_index=True, width="stretch")

st.subheader(_("Whose data was read from outside the allowed roles"))
outside = exposure.outside_subjects_frame(report)
if outside.is_empty():
    st.info(_("Nobody outside a category's allowed roles read other people's data."))
else:
    st.caption(_("How many people's data was read, per week; every figure describes at least {k} people "
                 "and is rounded to a multiple of {k}.").format(k=report.k) + " "
               + council_tables.hidden_reason(report.k))
    st.dataframe(outside, hide_index=True, width="stretch",
                 column_config={_("Week from"): st.column_config.DateColumn(format=_("D MMM YYYY"))})

st.subheader(_("Grants"))
st.dataframe(exposure.grants_frame(report), hide_index=True, width="stretch",
             column_config={_("Granted"): st.column_config.DatetimeColumn(format=_("D MMM YYYY")),
                            _("Expires"): st.column_config.DatetimeColumn(format=_("D MMM YYYY"))})
