"""My data: every telemetry category held about the signed-in person."""

import polars as pl
import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal import charts
from portal.collection import collector_views
from portal.lake import my_data
from portal.core.plain_text import md

ctx = ui.require("telemetry:read_own")
svc, principal = ctx.services, ctx.principal


def collected_by() -> None:
    """Per category, the systems on the collector register, under which agreement, and what the works council
    decided: the register, not anyone's data."""
    st.subheader(_("Which systems collect it"))
    st.caption(_("Every system that sends telemetry must be on the collector register, and may send nothing until "
                 "the works council approves it. The council's reasons are shown as it wrote them."))
    for group in svc.collectors_of_my_categories(principal):
        if not group.lines:
            st.markdown(f"**{md(group.name)}**: {_(collector_views.NO_COLLECTOR)}")
            continue
        lines = [f"- **{md(line.name)}**, "
                 + (_("under the agreement {agreement}").format(agreement=md(line.agreement)) if line.agreement
                    else _("under no named agreement"))
                 + f": {md(line.words)}" for line in group.lines]
        st.markdown(f"**{md(group.name)}**\n\n" + "\n".join(lines))


st.title(_("My data"))
st.caption(_("Everything the company's telemetry systems hold about {name}.").format(name=md(principal.display_name)))

items = svc.holdings(principal)
if not items:
    st.info(_("No telemetry is held about you. When a system starts recording you, it will appear here."))
    collected_by()
    st.stop()

total = sum(h.records for h in items)
first = min(h.first_record for h in items)
last = max(h.last_record for h in items)
c1, c2, c3, c4 = st.columns(4)
c1.metric(_("Categories held"), len(items))
c2.metric(_("Records held"), i18n.number(total))
c3.metric(_("Oldest record"), i18n.day(first))
c4.metric(_("Newest record"), i18n.day(last))

st.subheader(_("What is held, why, and for how long"))
st.dataframe(
    my_data.holdings_frame(items),
    hide_index=True,
    width="stretch",
    column_config={
        _("Records"): st.column_config.NumberColumn(format="localized"),
        _("First record"): st.column_config.DatetimeColumn(format=_("D MMM YYYY, HH:mm")),
        _("Last record"): st.column_config.DatetimeColumn(format=_("D MMM YYYY, HH:mm")),
    },
)
with st.expander(_("What each category means")):
    for h in items:
        st.markdown(f"**{h.name}** (`{h.key}`): {h.description}")
collected_by()

st.subheader(_("Records per day"))
daily = svc.daily_volume(principal)
st.plotly_chart(charts.daily_volume(daily), width="stretch")
if not daily.is_empty():  # what the chart shows, in words, for anyone who cannot see it
    per_day = daily.group_by("day").agg(pl.col("records").sum()).sort(["records", "day"], descending=[True, False])
    busiest = per_day.row(0, named=True)
    st.caption(_("{records} records on {days} days, from {first} to {last}; the most on {busiest} ({most}).").format(
        records=i18n.number(int(per_day["records"].sum())), days=i18n.number(per_day.height),
        first=i18n.day(per_day["day"].min()), last=i18n.day(per_day["day"].max()), busiest=i18n.day(busiest["day"]),
        most=i18n.number(busiest["records"])))

st.subheader(_("Recent records"))
names = {h.name: h.key for h in items}
left, right = st.columns([3, 1])
chosen = left.selectbox(_("Category"), list(names), key="records-category")
page_key = f"records-page-{names[chosen]}"
result = svc.records_page(principal, names[chosen], int(st.session_state.get(page_key, 1)))
if st.session_state.get(page_key, 1) != result.page:
    st.session_state[page_key] = result.page  # the records shrank (an erasure) since the page was chosen
right.number_input(_("Page (of {pages})").format(pages=i18n.number(result.pages)), min_value=1,
                   max_value=result.pages, step=1, key=page_key)
st.dataframe(result.frame, hide_index=True, width="stretch")
st.caption(_("Page {page} of {pages} · {total} records in {category}, newest first.").format(
    page=i18n.number(result.page), pages=i18n.number(result.pages), total=i18n.number(result.total),
    category=chosen))
