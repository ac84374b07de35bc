"""Who accessed my data: every read of the signed-in person's data by someone else, flags said in words."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal import charts
from portal.audit import log_integrity, my_access

ctx = ui.require("access_log:read_own")
svc, principal = ctx.services, ctx.principal
reads = svc.reads_of_my_data(principal)
events, summary, unlinked, inclusion = reads.events, reads.summary, reads.unlinked, reads.inclusion

st.title(_("Who accessed my data"))
st.markdown(f"#### {summary.sentence()}")
if unlinked is not None:
    st.info(unlinked.sentence(), icon=":material/link_off:")
if not events or inclusion is None:
    if unlinked is None:
        st.info(_("Nobody but you has read your telemetry. When a service or a person does, it appears here: "
                  "when, who, which data, how many records, and the purpose they gave."))
    st.stop()

left, right = st.columns([4, 1], vertical_alignment="center")
badge = left.error if inclusion.altered else left.success if inclusion.verified else left.info
badge(inclusion.sentence(), icon=":material/gpp_bad:" if inclusion.altered else ":material/verified:")
right.download_button(
    _("Proof bundle"), svc.my_proof_bundle(principal), file_name="my-access-log-proofs.json",
    mime="application/json", icon=":material/download:",
    help=_("Your log entries with RFC 6962 inclusion proofs and the signed checkpoint. See below how to check it."),
)
with st.expander(_("Check the proof bundle yourself")):
    st.markdown(_(log_integrity.OFFLINE_CHECK))
    st.code(svc.log_public_key(principal), language=None)

c1, c2, c3, c4 = st.columns(4)
c1.metric(_("Reads in the last {days} days").format(days=summary.days), i18n.number(summary.reads))
c2.metric(_("Services"), summary.services)
c3.metric(_("People"), summary.people)
c4.metric(_("Flagged reads (all time)"), i18n.number(sum(e.flagged for e in events)))

options = my_access.filter_options(events)
f1, f2, f3, f4 = st.columns([3, 2, 3, 3])
categories = f1.multiselect(_("Category"), options.categories, placeholder=_("All categories"), key="access-category")
kinds = f2.multiselect(_("Reader"), options.kinds, placeholder=_("Anyone"), key="access-kind",
                       format_func={"person": _("People"), "service": _("Services")}.get)
purposes = f3.multiselect(_("Stated purpose"), options.purposes, placeholder=_("Any purpose"), key="access-purpose")
period = f4.date_input(_("Between"), value=(options.first_day, options.last_day), min_value=options.first_day,
                       max_value=options.last_day, key="access-period", format="DD.MM.YYYY")
flagged_only = st.toggle(_("Only flagged reads"), key="access-flagged")
shown = my_access.filter_events(events, categories=categories, kinds=kinds, purposes=purposes, period=period,
                                 flagged_only=flagged_only)

st.subheader(_("When your data was read"))
st.plotly_chart(charts.access_timeline(my_access.timeline_frame(shown)), width="stretch")
st.caption(_("The table below lists every read in the chart."))

st.subheader(_("Every read ({n} shown)").format(n=i18n.number(len(shown))))
st.dataframe(
    ui.table(reads.table(shown), lists=("Flags",)),
    hide_index=True,
    width="stretch",
    column_config={
        _("When"): st.column_config.DatetimeColumn(_("When (UTC)"), format=_("D MMM YYYY, HH:mm"), pinned=True),
        _("Flags"): st.column_config.MultiselectColumn(options=ui.labels(my_access.FLAG_LABELS),
                                                       color=list(my_access.FLAG_LABEL_COLOURS), width="medium"),
        _("Records"): st.column_config.NumberColumn(format="localized"),
        _("Flagged because"): st.column_config.TextColumn(width="large"),
    },
)
st.caption(_("Flagged reads carry labels in words; \"Flagged because\" says why in full."))
with st.expander(_("How reads are flagged")):
    st.markdown(_(
        "- **No registered purpose**: the reader gave no purpose from the company's register.\n"
        "- **Role not allowed**: the reader's role is not one the policy lets read that category.\n"
        "- **Over-exposure episode**: in that week (Monday to Sunday, UTC) more different people read other "
        "people's data of that category than the policy's limit for it. Every person's read in such a week "
        "is flagged, because the data was open far more broadly than intended."
    ))
