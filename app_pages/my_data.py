"""My data: every telemetry category held about the signed-in person."""

import streamlit as st

import ui
from portal import charts
from portal.collection import collector_views
from portal.lake import my_data
from portal.core.plain_text import md

ctx = ui.require("telemetry:read_own")
svc, principal = ctx.services, ctx.principal


def collected_by() -> None:
    """Per category, the systems on the collector register, under which agreement, and what the works council
    decided: the register, not anyone's data."""
    st.subheader("Which systems collect it")
    st.caption("Every system that sends telemetry must be on the collector register, and may send nothing until "
               "the works council approves it. The council's reasons are shown as it wrote them.")
    for group in svc.collectors_of_my_categories(principal):
        if not group.lines:
            st.markdown(f"**{md(group.name)}**: {collector_views.NO_COLLECTOR}")
            continue
        lines = [f"- **{md(line.name)}**, "
                 + (f"under the agreement {md(line.agreement)}" if line.agreement else "under no named agreement")
                 + f": {md(line.words)}" for line in group.lines]
        st.markdown(f"**{md(group.name)}**\n\n" + "\n".join(lines))


st.title("My data")
st.caption(f"Everything the company's telemetry systems hold about {md(principal.display_name)}.")

items = svc.holdings(principal)
if not items:
    st.info("No telemetry is held about you. When a system starts recording you, it will appear here.")
    collected_by()
    st.stop()

total = sum(h.records for h in items)
first = min(h.first_record for h in items)
last = max(h.last_record for h in items)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Categories held", len(items))
c2.metric("Records held", f"{total:,}")
c3.metric("Oldest record", f"{first:%d %b %Y}")
c4.metric("Newest record", f"{last:%d %b %Y}")

st.subheader("What is held, why, and for how long")
st.dataframe(
    my_data.holdings_frame(items),
    hide_index=True,
    width="stretch",
    column_config={
        "Records": st.column_config.NumberColumn(format="localized"),
        "First record": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
        "Last record": st.column_config.DatetimeColumn(format="D MMM YYYY, HH:mm"),
    },
)
with st.expander("What each category means"):
    for h in items:
        st.markdown(f"**{h.name}** (`{h.key}`): {h.description}")
collected_by()

st.subheader("Records per day")
st.plotly_chart(charts.daily_volume(svc.daily_volume(principal)), width="stretch")

st.subheader("Recent records")
names = {h.name: h.key for h in items}
left, right = st.columns([3, 1])
chosen = left.selectbox("Category", list(names), key="records-category")
page_key = f"records-page-{names[chosen]}"
result = svc.records_page(principal, names[chosen], int(st.session_state.get(page_key, 1)))
if st.session_state.get(page_key, 1) != result.page:
    st.session_state[page_key] = result.page  # the records shrank (an erasure) since the page was chosen
right.number_input(f"Page (of {result.pages:,})", min_value=1, max_value=result.pages, step=1, key=page_key)
st.dataframe(result.frame, hide_index=True, width="stretch")
st.caption(f"Page {result.page:,} of {result.pages:,} · {result.total:,} records in {chosen}, newest first.")
