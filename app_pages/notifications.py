"""Notifications: what the portal told the signed-in person (reads of their data, their requests, collectors)."""

import streamlit as st

import ui
from portal.core import i18n
from portal.core.i18n import N_, _
from portal.core.plain_text import md

KIND_WORDS = {"flagged_read": N_("Flagged read"), "lookup": N_("Privacy office lookup"), "request": N_("Request"),
              "collector": N_("Collector"), "digest": N_("Digest")}
EMAIL_WORDS = {"sent": N_("sent by e-mail on {day}"), "pending": N_("e-mail not sent yet"),
               "sending": N_("e-mail being sent"), "failed": N_("e-mail failed, to be tried again"),
               "off": N_("not sent by e-mail")}

ctx = ui.require("notifications:read_own")
svc, principal = ctx.services, ctx.principal

st.title(_("Notifications"))
notices = svc.my_notices(principal)
unread = [n for n in notices if n.unread]
st.caption(_("What the portal told you about reads of your data, your requests and the systems that collect "
             "your data. Each notice is also sent to your e-mail address when the company has e-mail set up; "
             "choose how often you get the digest of reads on your Settings page."))
if not notices:
    st.info(_("No notices yet. You get one when someone reads your data in a way the portal flags, when the "
              "privacy office looks up your records, when a request of yours changes, and a digest of reads "
              "each week (or day)."), icon=":material/notifications_none:")
    st.stop()

left, right = st.columns([3, 1], vertical_alignment="center")
left.markdown(i18n.ngettext("**{n} unread notice** of {total}", "**{n} unread notices** of {total}",
                            len(unread)).format(n=i18n.number(len(unread)), total=i18n.number(len(notices))))
if unread and right.button(_("Mark all as read"), icon=":material/done_all:", key="notices-all-read"):
    svc.mark_notices_read(principal)
    st.rerun()

for notice in notices:
    with st.container(border=True):
        state = _("Unread") if notice.unread else _("Read")
        st.markdown(f"**{md(notice.subject)}**")
        email = _(EMAIL_WORDS.get(notice.email_status, notice.email_status)).format(
            day=i18n.day(notice.email_sent_at) if notice.email_sent_at else "")
        st.caption(" · ".join([state, _(KIND_WORDS.get(notice.kind, notice.kind)), i18n.moment(notice.created_at),
                               email]))
        # The body is plain text (it is also the e-mail); names and reasons in it are shown as text.
        st.markdown("  \n".join(md(line) if line.strip() else "&nbsp;" for line in notice.body.split("\n")))
        if notice.unread and st.button(_("Mark as read"), key=f"read-{notice.notice_id}", icon=":material/done:"):
            svc.mark_notices_read(principal, [notice.notice_id])
            st.rerun()
