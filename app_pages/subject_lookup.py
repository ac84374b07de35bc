"""Subject lookup: the privacy office opens one person's records, with a justification the person sees."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal.privacy import subject_lookup
from portal.core.plain_text import md

ctx = ui.require("subjects:lookup")

st.title(_("Subject lookup"))
st.markdown(_(
    "Open one person's records only when a request or a ticket needs it. Every lookup is recorded as an access "
    "event that the person sees on *Who accessed my data*, with your name and the justification you give here. "
    "Without a justification nothing is shown."
))

choices = subject_lookup.categories()
with st.form("lookup"):
    subject = st.text_input(_("Person"), placeholder=_("employee id, e-mail or OIDC subject"), key="lookup-subject")
    category = st.selectbox(_("Category"), list(choices), key="lookup-category")
    justification = st.text_input(_("Justification (the person reads it)"),
                                  placeholder=_("REQ-1A2B3C4D or ticket PRIV-123"), key="lookup-justification")
    submitted = st.form_submit_button(_("Open the records (recorded)"), type="primary", icon=":material/visibility:")

if submitted:
    try:
        found = ctx.services.open_records(ctx.principal, subject, choices[category], justification)
    except subject_lookup.SubjectLookupError as exc:
        st.error(_("Nothing was opened: {problem}.").format(problem=md(exc)))
    else:
        st.subheader(_("{category} of {person}").format(category=found.category, person=md(found.person)))
        st.dataframe(found.records, hide_index=True, width="stretch",
                     column_config={"ts": st.column_config.DatetimeColumn(_("Time (UTC)"), format=_("D MMM YYYY, HH:mm"))})
        st.caption(_("The newest {shown} of {total} records. This view was recorded as an access the person sees, "
                     "with the justification \u201c{justification}\u201d.").format(
            shown=i18n.number(found.records.height), total=i18n.number(found.total),
            justification=md(found.justification)))
