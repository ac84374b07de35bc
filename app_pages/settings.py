"""Settings: how often the signed-in person gets the digest of reads, and the portal's language."""

import streamlit as st

import ui
from portal import notify
from portal.core import i18n
from portal.core.i18n import _

ctx = ui.require("settings:edit_own")
svc, principal = ctx.services, ctx.principal
current = svc.my_settings(principal)

st.title(_("Settings"))
st.subheader(_("Notifications"))
st.caption(_("You are always told at once when someone reads your data in a way the portal flags (no "
             "registered purpose, a role the policy does not allow, an over-exposure episode), when the privacy "
             "office looks up your records, and when a request of yours changes. The digest lists every other "
             "read of your data by other people and services."))
digests = list(notify.DIGESTS)
digest = st.radio(_("Digest of reads of my data"), digests, index=digests.index(current.digest),
                  format_func=lambda key: _(notify.DIGESTS[key]), key="settings-digest", horizontal=True)

st.subheader(_("Language"))
languages: list[str | None] = [None, *i18n.LANGUAGES]
language = st.selectbox(_("Language of the portal and of your e-mails"), languages,
                        index=languages.index(current.language), key="settings-language",
                        format_func=lambda code: _("Follow my browser") if code is None else i18n.LANGUAGES[code])

if st.button(_("Save"), type="primary", icon=":material/save:", key="settings-save"):
    try:
        svc.save_my_settings(principal, digest=digest, language=language)
    except notify.PreferencesError as exc:
        st.error(_("Your settings were not saved: {problem}").format(problem=exc))
    else:
        st.session_state["settings-saved"] = True
        st.rerun()  # the page is drawn again in the language just chosen
if st.session_state.pop("settings-saved", False):
    st.success(_("Your settings were saved."), icon=":material/check:")
