"""My copy: download everything held about the signed-in person (GDPR Art. 15 and 20)."""

from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal.privacy import export

CHECK_EVERY_SECONDS = 10

ctx = ui.require("export:own")
svc, principal = ctx.services, ctx.principal

st.title(_("My copy"))
st.markdown(_(
    "Download a complete copy of everything the company holds about you, as one ZIP file: every telemetry "
    "record in each category (JSON Lines and CSV, and Parquet for large ones), every time someone read your "
    "data, your privacy requests with their history and your objections, the training datasets and models "
    "that include your data, and a manifest of purposes, legal bases, retention, sources, recipients and your "
    "rights that also lists every file with its SHA-256 checksum, size, rows and columns. A README explains "
    "each file."
))
st.caption(_("This is your right of access (GDPR Art. 15) and to data portability (Art. 20). "
             "Preparing your own copy is not recorded as someone else reading your data."))

if st.button(_("Prepare my copy"), type="primary", icon=":material/folder_zip:", key="copy-prepare"):
    prepared_at = datetime.now(UTC)
    bar = st.progress(0.0, text=_("Starting ..."))
    report = svc.prepare_my_copy(principal, progress=lambda fraction, message: bar.progress(fraction, text=message))
    bar.empty()
    st.session_state["copy-ready"] = (principal.employee_id, str(report.path), report.bytes, report.total_records,
                                      prepared_at)

ready = st.session_state.get("copy-ready")
mine = ready if ready and ready[0] == principal.employee_id else None  # never a copy prepared for someone else


# Re-checked while the page stays open: an erasure deletes the copy, and a download offered
# after that would fail without a word.
@st.fragment(run_every=CHECK_EVERY_SECONDS if mine else None)
def offered_copy() -> None:
    if not mine:
        return
    _owner, path, size, records, prepared_at = mine
    current = ui.services()  # notices an erasure run by another process and drops its cached file lists
    offer = current.offered_copy(principal, Path(path), prepared_at)
    if not offer.available:
        st.warning(offer.sentence(), icon=":material/delete_forever:")
        return
    st.success(_("Your copy is ready: {records} telemetry records, {size}. It is deleted from the server within an "
                 "hour.").format(records=i18n.number(records), size=export.human_size(size)))
    st.download_button(_("Download my copy (ZIP)"), data=lambda: Path(path).read_bytes(),
                       file_name=export.copy_file_name(principal.display_name), mime="application/zip",
                       icon=":material/download:", on_click="ignore", key="copy-download")


offered_copy()
