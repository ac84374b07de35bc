"""Request queue: the privacy office's requests by deadline; what each will touch; decide; carry out."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _, ngettext
from portal.privacy import privacy_requests, request_views
from portal.identity import policy
from portal.privacy.deadlines import DeadlineError
from portal.core.plain_text import clean, md
from portal.privacy.request_states import OFFICE, Status, TransitionError

ctx = ui.require("requests:read_all")
svc, principal = ctx.services, ctx.principal
today = request_views.utc_today()

st.title(_("Request queue"))
st.caption(_("Erasure, objection and copy requests, soonest deadline first. A request is answered within one month "
             "of receipt; one extension by up to two months is allowed, with a reason the employee sees."))

show_closed = st.toggle(_("Show closed requests too"), key="queue-closed")
items = svc.queue(principal, today, include_closed=show_closed, keep=st.session_state.get("queue-open"))
open_items = [i for i in items if i.request.status in request_views.OPEN]
c1, c2, c3 = st.columns(3)
c1.metric(_("Open requests"), len(open_items))
c2.metric(_("Overdue"), sum(i.urgency == request_views.OVERDUE for i in open_items))
c3.metric(_("Due within {days} days").format(days=request_views.AT_RISK_DAYS),
          sum(i.urgency == request_views.AT_RISK for i in open_items))
if not items:
    st.info(_("There are no open requests. Requests that employees file in the portal, and those you file for them "
              "with `portal requests file`, appear here."))
    st.stop()

st.dataframe(
    ui.table(request_views.queue_frame(items), lists=("Deadline",)), hide_index=True, width="stretch",
    column_config={
        _("Request"): st.column_config.TextColumn(pinned=True),
        _("Deadline"): st.column_config.MultiselectColumn(options=ui.labels(request_views.URGENCY_LABELS),
                                                          color=list(request_views.URGENCY_COLOURS), width="small"),
        _("Received"): st.column_config.DatetimeColumn(format=_("D MMM YYYY")),
        _("Due"): st.column_config.DateColumn(format=_("D MMM YYYY")),
    },
)

labels = {i.request.request_id: clean(f"{i.request.request_id} · {_(request_views.KIND_WORDS[i.request.kind])} · "
                                      f"{i.request.employee_id} · "
                                      + _("due {day}").format(day=i18n.day(i.request.due))) for i in items}
chosen = st.selectbox(_("Open a request"), list(labels), format_func=labels.get, key="queue-open")
request = svc.request(principal, chosen)

st.subheader(f"{request_views.title(request)} · {chosen}")
st.markdown(_("**Person:** {person} · **Received** {day} by {channel} · **Status:** {status} · **Deadline:** "
              "{deadline}").format(person=md(svc.subject_name(principal, chosen)), day=i18n.day(request.received_at),
                                   channel=request.channel, status=request_views.status_words(request),
                                   deadline=request_views.deadline_words(request, today)))
if request.details:
    st.markdown(_("**The employee wrote:**"))
    st.text(clean(request.details))  # their words, line breaks kept, nothing in them interpreted
extension = request_views.extension_words(request)
if extension:
    st.info(md(extension), icon=":material/schedule:")
problem = svc.last_error(principal, chosen)
if problem and request.status == Status.EXECUTING:
    st.warning(_("**The last attempt did not finish:** {problem}").format(problem=md(problem)))

receipt = svc.receipt(principal, chosen) if request.status == Status.COMPLETED else None
if receipt is not None:
    st.success(_("Completed and verified in every store. Receipt issued {moment}.").format(moment=receipt.issued_at))
    st.markdown(request_views.receipt_summary(receipt.document))
    st.download_button(_("Download the signed receipt"), data=receipt.text, file_name=receipt.file_name(),
                       mime="application/json", on_click="ignore", key=f"queue-receipt-{chosen}")
elif request.status not in (Status.REJECTED, Status.WITHDRAWN):
    found = svc.erasure_plan(principal, chosen)
    st.markdown(_("##### What carrying it out will touch (nothing has changed yet)"))
    st.dataframe(ui.table(request_views.plan_tables_frame(found)), hide_index=True, width="stretch",
                 column_config={_("Rows"): st.column_config.NumberColumn(format="localized")})
    if found.datasets:
        st.markdown(_("**Training dataset versions affected ({n})**").format(n=len(found.datasets)))
        st.dataframe(ui.table(request_views.plan_datasets_frame(found)), hide_index=True, width="stretch")
    if found.models:
        st.markdown(_("**Models trained on them ({n})**: erasure cannot take data out of a trained model; the owners "
                      "decide whether to retrain.").format(n=len(found.models)))
        st.dataframe(ui.table(request_views.plan_models_frame(found)), hide_index=True, width="stretch")
    if found.kept:
        st.markdown(_("**Kept:** {what}.").format(what="; ".join(found.kept)))

if request.status in (Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED):
    reason = st.text_input(_("Reason (the employee reads it)"), key=f"queue-reason-{chosen}")
    a, r, e, m = st.columns([1, 1, 1, 1])
    months = m.selectbox(_("Extend by"), [2, 1],
                         format_func=lambda n: ngettext("{n} more month", "{n} more months", n).format(n=n),
                         key=f"queue-months-{chosen}", disabled=request.extended_deadline is not None)
    try:
        if request.status != Status.APPROVED and a.button(_("Approve"), type="primary", key=f"queue-approve-{chosen}"):
            svc.approve(principal, chosen, reason.strip() or None)
            st.rerun()
        if request.status != Status.APPROVED and r.button(_("Reject"), key=f"queue-reject-{chosen}"):
            svc.reject(principal, chosen, reason)
            st.rerun()
        if e.button(_("Extend the deadline"), key=f"queue-extend-{chosen}",
                    disabled=request.extended_deadline is not None):
            svc.extend(principal, chosen, months, reason)
            st.rerun()
    except (TransitionError, DeadlineError, privacy_requests.RequestError) as exc:
        st.error(_("Nothing was changed: {problem}.").format(problem=md(exc)))

if request.status in (Status.APPROVED, Status.EXECUTING) and policy.allowed(principal, "requests:execute"):
    label = _("Carry out and verify") if request.status == Status.APPROVED else _("Resume and verify")
    if st.button(label, type="primary", icon=":material/play_arrow:", key=f"queue-run-{chosen}"):
        bar = st.progress(0.0, text=_("Starting ..."))
        try:
            svc.carry_out(principal, chosen, progress=lambda fraction, message: bar.progress(fraction, text=message))
        except Exception as exc:  # noqa: BLE001 - every failure is recorded with the step and can be resumed
            st.error(_("Not completed: {problem}").format(problem=md(exc)))
        else:
            st.cache_data.clear()  # no cached copy of the person's data survives
            st.rerun()

with st.expander(_("History")):
    st.dataframe(ui.table(request_views.history_frame(svc.request_history(principal, chosen), OFFICE)),
                 hide_index=True, width="stretch",
                 column_config={_("When"): st.column_config.DatetimeColumn(_("When (UTC)"), format=_("D MMM YYYY, HH:mm"))})
