"""My requests: ask for erasure, object to a use of your data, or ask for a copy; follow each request."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import N_, _
from portal.core import catalog
from portal.privacy import privacy_requests, request_views
from portal.core.plain_text import md
from portal.privacy.request_states import SUBJECT, Status, TransitionError

ctx = ui.require("requests:file_own")
svc, principal = ctx.services, ctx.principal

st.title(_("My requests"))
st.markdown(_(
    "You can ask the company to **erase** your telemetry, **object** to a use of it (such as training AI "
    "systems), or ask for a **copy** of everything held about you. The privacy office answers within one month "
    "of receiving your request; it may extend that once, by up to two more months, and must tell you why "
    "(GDPR Art. 12(3))."
))

KINDS = {"erasure": N_("Erase my data"), "objection": N_("Object to a use of my data"),
         "access": N_("Get a copy of my data")}
with st.expander(_("Make a request"), expanded=False, icon=":material/edit_note:"):
    kind = st.radio(_("What do you want?"), list(KINDS), format_func=lambda k: _(KINDS[k]), horizontal=True,
                    key="req-kind")
    categories, purpose = None, None
    if kind == "erasure":
        choices = request_views.erasable_choices()
        scope = st.radio(_("Which data?"), ["all", "chosen"], horizontal=True, key="req-erase-scope",
                         format_func={"all": _("All my telemetry"), "chosen": _("Only some categories")}.get)
        if scope == "chosen":
            categories = [choices[n] for n in st.multiselect(_("Categories to erase"), list(choices),
                                                             key="req-erase-categories")]
        st.markdown(_(request_views.ERASURE_CONSEQUENCES))
    elif kind == "objection":
        purposes, objectable = request_views.objectable_choices()
        chosen = st.selectbox(_("The use you object to"), [None, *purposes], key="req-purpose",
                              format_func=lambda n: _("Choose a purpose ...") if n is None else n)
        purpose = purposes.get(chosen) if chosen else None
        picked = st.multiselect(_("Or object to any use of these categories"), list(objectable),
                                key="req-object-cats")
        categories = [objectable[n] for n in picked] or None
        st.markdown(_(request_views.OBJECTION_CONSEQUENCES))
    else:
        st.markdown(_(request_views.ACCESS_EXPLANATION))
    details = st.text_area(_("Anything the privacy office should know (optional)"),
                           max_chars=privacy_requests.MAX_DETAILS, key="req-details")
    if st.button(_("Send my request"), type="primary", icon=":material/send:", key="req-send"):
        if kind == "erasure" and scope == "chosen" and not categories:
            st.error(_("Choose at least one category to erase, or choose all your telemetry."))
        else:
            try:
                filed = svc.file_my_request(principal, kind, categories=categories, purpose=purpose,
                                            details=details.strip() or None)
                st.success(_("Your request {id} was received. The privacy office answers by {day}.").format(
                    id=filed.request_id, day=i18n.long_day(filed.due)))
            except (privacy_requests.RequestError, catalog.UnknownCategory) as exc:
                st.error(_("Your request was not sent: {problem}.").format(problem=exc))

mine = svc.my_requests(principal)
st.subheader(_("Your requests"))
if not mine:
    st.info(_("You have made no requests yet. When you do, you can follow each one here: its status, its deadline, "
              "everything that happened to it, and the receipt once it is done."))
    st.stop()

today = request_views.utc_today()
for request in mine:
    with st.container(border=True):
        st.markdown(f"**{request_views.title(request)}** · `{request.request_id}` · "
                    + _("received {day}").format(day=i18n.day(request.received_at)))
        st.markdown(_("Status: **{status}**").format(status=request_views.status_words(request)) + " · "
                    + request_views.sentence(request_views.deadline_words(request, today)))
        extension = request_views.extension_words(request)
        if extension:
            st.info(md(extension), icon=":material/schedule:")
        if request.status == Status.REJECTED and request.decision_reason:
            st.warning(_("The privacy office's reason: {reason}").format(reason=md(request.decision_reason)))
        with st.expander(_("What happened so far")):
            st.dataframe(ui.table(request_views.history_frame(svc.request_history(principal, request.request_id),
                                                              SUBJECT)),
                         hide_index=True, width="stretch",
                         column_config={_("When"): st.column_config.DatetimeColumn(_("When (UTC)"),
                                                                                format=_("D MMM YYYY, HH:mm"))})
        withdrawable = request.status in request_views.WITHDRAWABLE
        if withdrawable and st.button(_("Withdraw this request"), key=f"withdraw-{request.request_id}",
                                      icon=":material/undo:"):
            try:
                svc.withdraw(principal, request.request_id)
                st.rerun()
            except TransitionError as exc:
                st.error(_("The request was not withdrawn: {problem}.").format(problem=exc))
        receipt = svc.receipt(principal, request.request_id) if request.status == Status.COMPLETED else None
        if receipt is not None:
            st.markdown(request_views.receipt_summary(receipt.document))
            st.download_button(_("Download the signed receipt"), data=receipt.text, file_name=receipt.file_name(),
                               mime="application/json", icon=":material/verified:", on_click="ignore",
                               key=f"receipt-{request.request_id}")
            st.caption(_(request_views.RECEIPT_CHECK))
