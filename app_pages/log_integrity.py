"""Access log integrity: signed checkpoints to store, and proof that the log only grew."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import _
from portal.identity import policy
from portal.audit.signed_log import AuditError, NotACheckpoint
from portal.core.plain_text import md

ctx = ui.require("audit:witness")
svc = ctx.services

st.title(_("Access log integrity"))
st.markdown(_(
    "Every read of someone's data and every step of a privacy request is an entry in an append-only log. "
    "The portal signs a **checkpoint** of the log (its size and a hash over all entries). Store today's "
    "checkpoint; next time, upload it here, and the portal must *prove* that today's log still contains "
    "exactly those entries and only added new ones. Nobody, including the company, can rewrite history "
    "without that proof failing."
))

pub = svc.published_log(ctx.principal)
c1, c2 = st.columns(2)
c1.metric(_("Entries in the log"), i18n.number(pub.checkpoint.size))
c2.metric(_("Checkpoints issued"), i18n.number(pub.issued))
st.subheader(_("Latest signed checkpoint"))
st.code(pub.checkpoint.text, language=None, wrap_lines=True)
st.download_button(
    _("Download this checkpoint"), pub.checkpoint.text, file_name=f"checkpoint-{pub.checkpoint.size}.txt",
    mime="text/plain", icon=":material/download:",
)
st.caption(_("Public key of the log (C2SP signed-note verifier key): {key}").format(key=f"`{pub.verifier_key}`"))

st.subheader(_("Check a checkpoint you stored earlier"))
uploaded = st.file_uploader(
    _("Stored checkpoint file"), type=["txt"], key="stored-checkpoint",
    help=_("The checkpoint you downloaded here earlier: a few lines of text. Files over {mb} MB are refused.").format(
        mb=st.get_option("server.maxUploadSize")),
)
if uploaded is not None:
    bar = st.progress(0.0, text=_("Recomputing every entry from the stored records ..."))
    try:
        result = svc.check_stored_checkpoint(
            ctx.principal, uploaded.getvalue(),
            progress=lambda done, total, label: bar.progress(min(done / max(total, 1), 1.0), label))
    except NotACheckpoint as exc:
        bar.empty()
        st.warning(_("**That file is not a checkpoint of this log**, so nothing can be said about it. {problem}").format(
            problem=md(exc)), icon=":material/help:")
    except AuditError as exc:
        bar.empty()
        st.error(_("**The log does NOT extend your stored checkpoint.** {problem}").format(problem=md(exc)),
                 icon=":material/gpp_bad:")
    else:
        bar.empty()
        st.success(_(
            "**Consistent.** Today's log ({new} entries, each recomputed from its stored record) contains your "
            "stored checkpoint's {old} entries unchanged and adds {added}. Verified with a consistency proof of "
            "{hashes} hashes.").format(new=i18n.number(result.new_size), old=i18n.number(result.old_size),
                                       added=i18n.number(result.new_size - result.old_size),
                                       hashes=len(result.proof)),
            icon=":material/verified:",
        )
        with st.expander(_("The consistency proof (RFC 6962)")):
            st.code("\n".join(node.hex() for node in result.proof) or _("(empty: the sizes are equal)"), language=None,
                    wrap_lines=True)

if policy.allowed(ctx.principal, "audit:verify"):
    st.subheader(_("Recompute the whole log"))
    st.caption(_("Recomputes every entry from the stored rows and checks every checkpoint's signature and "
                 "consistency."))
    if st.button(_("Verify everything"), icon=":material/fact_check:"):
        bar = st.progress(0.0, text=_("Recomputing entries ..."))
        report = svc.verify_log(
            ctx.principal, progress=lambda done, total, label: bar.progress(min(done / max(total, 1), 1.0), label)
        )
        bar.empty()
        (st.success if report.ok else st.error)(report.describe())
