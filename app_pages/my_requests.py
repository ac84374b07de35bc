"""My requests: ask for erasure, object to a use of your data, or ask for a copy; follow each request."""

import streamlit as st

import ui
from portal.core import catalog
from portal.privacy import privacy_requests, request_views
from portal.core.plain_text import md
from portal.privacy.request_states import SUBJECT, Status, TransitionError

ctx = ui.require("requests:file_own")
svc, principal = ctx.services, ctx.principal

st.title("My requests")
st.markdown(
    "You can ask the company to **erase** your telemetry, **object** to a use of it (such as training AI "
    "systems), or ask for a **copy** of everything held about you. The privacy office answers within one month "
    "of receiving your request; it may extend that once, by up to two more months, and must tell you why "
    "(GDPR Art. 12(3))."
)

KINDS = {"erasure": "Erase my data", "objection": "Object to a use of my data", "access": "Get a copy of my data"}
with st.expander("Make a request", expanded=False, icon=":material/edit_note:"):
    kind = st.radio("What do you want?", list(KINDS), format_func=KINDS.get, horizontal=True, key="req-kind")
    categories, purpose = None, None
    if kind == "erasure":
        choices = request_views.erasable_choices()
        scope = st.radio("Which data?", ["all", "chosen"], horizontal=True, key="req-erase-scope",
                         format_func={"all": "All my telemetry", "chosen": "Only some categories"}.get)
        if scope == "chosen":
            categories = [choices[n] for n in st.multiselect("Categories to erase", list(choices),
                                                             key="req-erase-categories")]
        st.markdown(request_views.ERASURE_CONSEQUENCES)
    elif kind == "objection":
        purposes, objectable = request_views.objectable_choices()
        chosen = st.selectbox("The use you object to", [None, *purposes], key="req-purpose",
                              format_func=lambda n: "Choose a purpose ..." if n is None else n)
        purpose = purposes.get(chosen) if chosen else None
        picked = st.multiselect("Or object to any use of these categories", list(objectable), key="req-object-cats")
        categories = [objectable[n] for n in picked] or None
        st.markdown(request_views.OBJECTION_CONSEQUENCES)
    else:
        st.markdown(request_views.ACCESS_EXPLANATION)
    details = st.text_area("Anything the privacy office should know (optional)", max_chars=privacy_requests.MAX_DETAILS,
                           key="req-details")
    if st.button("Send my request", type="primary", icon=":material/send:", key="req-send"):
        if kind == "erasure" and scope == "chosen" and not categories:
            st.error("Choose at least one category to erase, or choose all your telemetry.")
        else:
            try:
                filed = svc.file_my_request(principal, kind, categories=categories, purpose=purpose,
                                            details=details.strip() or None)
                st.success(f"Your request {filed.request_id} was received. The privacy office answers by "
                           f"{filed.due:%d %B %Y}.")
            except (privacy_requests.RequestError, catalog.UnknownCategory) as exc:
                st.error(f"Your request was not sent: {exc}.")

mine = svc.my_requests(principal)
st.subheader("Your requests")
if not mine:
    st.info("You have made no requests yet. When you do, you can follow each one here: its status, its deadline, "
            "everything that happened to it, and the receipt once it is done.")
    st.stop()

today = request_views.utc_today()
for request in mine:
    with st.container(border=True):
        st.markdown(f"**{request_views.title(request)}** · `{request.request_id}` · "
                    f"received {request.received_at:%d %b %Y}")
        st.markdown(f"Status: **{request_views.status_words(request)}** · "
                    f"{request_views.sentence(request_views.deadline_words(request, today))}")
        extension = request_views.extension_words(request)
        if extension:
            st.info(md(extension), icon=":material/schedule:")
        if request.status == Status.REJECTED and request.decision_reason:
            st.warning(f"The privacy office's reason: {md(request.decision_reason)}")
        with st.expander("What happened so far"):
            st.dataframe(request_views.history_frame(svc.request_history(principal, request.request_id),
                                                     SUBJECT),
                         hide_index=True, width="stretch",
                         column_config={"When": st.column_config.DatetimeColumn("When (UTC)",
                                                                                format="D MMM YYYY, HH:mm")})
        withdrawable = request.status in request_views.WITHDRAWABLE
        if withdrawable and st.button("Withdraw this request", key=f"withdraw-{request.request_id}",
                                      icon=":material/undo:"):
            try:
                svc.withdraw(principal, request.request_id)
                st.rerun()
            except TransitionError as exc:
                st.error(f"The request was not withdrawn: {exc}.")
        receipt = svc.receipt(principal, request.request_id) if request.status == Status.COMPLETED else None
        if receipt is not None:
            st.markdown(request_views.receipt_summary(receipt.document))
            st.download_button("Download the signed receipt", data=receipt.text, file_name=receipt.file_name(),
                               mime="application/json", icon=":material/verified:", on_click="ignore",
                               key=f"receipt-{request.request_id}")
            st.caption(request_views.RECEIPT_CHECK)
