"""What I can do here: the portal actions the signed-in person's roles allow."""

import streamlit as st

import ui
from portal.core.i18n import _
from portal.identity import policy, rights

ctx = ui.require("rights:read_own")
principal = ctx.principal

st.title(_("What I can do here"))
st.markdown(_(
    "Access in this portal is narrow and shown, not promised. These are the actions your roles allow; "
    "everything else is denied."
))
roles = ", ".join(_(policy.ROLE_LABELS[r]) for r in sorted(principal.roles))
st.markdown(_("**Your roles:** {roles}").format(roles=roles))
st.dataframe(rights.rights_frame(principal), hide_index=True, width="stretch")
