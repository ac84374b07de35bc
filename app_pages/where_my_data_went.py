"""Where my data went: the training datasets and models that include the signed-in person's data."""

import streamlit as st

import ui
from portal.core.i18n import _
from portal import charts
from portal.lineage import my_lineage

ctx = ui.require("lineage:read_own")
held = ctx.services.where_my_data_went(ctx.principal)

st.title(_("Where my data went"))
st.markdown(f"#### {held.sentence()}")
if held.empty:
    st.info(_("None of your data has been copied into a training dataset. If that changes, the dataset, "
              "its purpose and every model trained on it appear here."))
    st.stop()

st.plotly_chart(charts.lineage_sankey(my_lineage.flows(held)), width="stretch")
st.caption(_("Widths are your records: from each category of your data, into dataset versions, into models. "
             "The tables below list the same datasets and models."))

st.subheader(_("Training datasets that include you"))
st.dataframe(
    ui.table(my_lineage.datasets_frame(held)),
    hide_index=True,
    width="stretch",
    column_config={
        _("Created"): st.column_config.DatetimeColumn(format=_("D MMM YYYY")),
        _("Status"): st.column_config.TextColumn(width="medium"),
    },
)

st.subheader(_("Models trained on them"))
if held.models:
    st.dataframe(ui.table(my_lineage.models_frame(held)), hide_index=True, width="stretch",
                 column_config={_("Trained"): st.column_config.DatetimeColumn(format=_("D MMM YYYY"))})
else:
    st.info(_("No model has been trained on these datasets yet."))
