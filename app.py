"""Composition root: settings, login gate, principal, navigation by role."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

import ui
from portal.core import file_modes, i18n
from portal.core.i18n import N_, _
from portal.identity import policy
from portal.core.plain_text import md

# Whatever umask Streamlit was started with, what this process writes (lake, DB, copies) is owner-only.
file_modes.restrict_process()

# Each run speaks the person's language: their stored choice, else what the browser asks for.
i18n.use(ui.language())
st.set_page_config(page_title=_("Telemetry transparency portal"), page_icon=":material/visibility:", layout="wide")

# (file, title, icon, action): a page appears only for principals allowed its action;
# each page also calls ui.require() with the same action. The folder is not called pages/: until a
# session has run st.navigation, Streamlit lists every file of a pages/ folder to anyone and runs
# the one a URL names without this script.
PAGES = [
    ("app_pages/my_data.py", N_("My data"), ":material/person:", "telemetry:read_own"),
    ("app_pages/who_accessed.py", N_("Who accessed my data"), ":material/visibility:", "access_log:read_own"),
    ("app_pages/where_my_data_went.py", N_("Where my data went"), ":material/account_tree:", "lineage:read_own"),
    ("app_pages/my_copy.py", N_("My copy"), ":material/download:", "export:own"),
    ("app_pages/my_requests.py", N_("My requests"), ":material/gavel:", "requests:file_own"),
    ("app_pages/notifications.py", N_("Notifications"), ":material/notifications:", "notifications:read_own"),
    ("app_pages/settings.py", N_("Settings"), ":material/settings:", "settings:edit_own"),
    ("app_pages/council_overview.py", N_("Council overview"), ":material/groups:", "aggregates:read"),
    ("app_pages/exposure.py", N_("Exposure"), ":material/policy:", "exposure:read"),
    ("app_pages/request_queue.py", N_("Request queue"), ":material/inbox:", "requests:read_all"),
    ("app_pages/collectors.py", N_("Collectors"), ":material/sensors:", "collectors:read"),
    ("app_pages/subject_lookup.py", N_("Subject lookup"), ":material/person_search:", "subjects:lookup"),
    ("app_pages/log_integrity.py", N_("Access log integrity"), ":material/verified:", "audit:witness"),
    ("app_pages/my_access.py", N_("What I can do here"), ":material/badge:", "rights:read_own"),
]


def login_screen() -> None:
    st.title(_("Telemetry transparency portal"))
    st.markdown(_(
        "See what workplace telemetry the company holds about you: keystroke and mouse activity, "
        "active applications, chat messages, meeting transcriptions and performance records. "
        "See who read it and why, and which AI training datasets it feeds."
    ))
    problem = ui.auth_problem()
    if problem:
        st.error(_("**Sign-in is not available.** {problem}").format(problem=problem))
        return
    problem = ui.provider_problem(st.secrets["auth"]["server_metadata_url"], i18n.language())
    if problem:
        st.error(_("**Sign-in is not available.** {problem}").format(problem=problem))
        return
    if st.button(_("Log in"), type="primary", icon=":material/login:"):
        st.login()
    st.caption(_("You sign in with your company account. Nothing is shown before you do."))


def groups_text(principal, *, quoted: bool = False) -> str:  # noqa: ANN001
    """The groups that grant no role, as text (they come from the token), the first few and how many more."""
    shown = ", ".join(f"“{md(g)}”" if quoted else md(g) for g in principal.unmapped_groups)
    more = principal.unmapped_group_count - len(principal.unmapped_groups)
    return shown + (_(" and {n} more").format(n=i18n.number(more)) if more > 0 else "")


def no_record_screen(principal) -> None:  # noqa: ANN001
    st.title(_("We have no record of you"))
    account = f"**{md(principal.subject)}**" + (
        f" ({md(principal.email)})" if principal.email and principal.email != principal.subject else "")
    st.warning(_(
        "You signed in as {account}, but the company holds no employee record linked to this account. "
        "There is therefore no telemetry to show you, and this portal shows nobody else's data."
    ).format(account=account))
    if principal.withheld_roles:
        # Roles are for people of the company: a guest account in a mapped group reads no council figures.
        roles = ", ".join(_(policy.ROLE_LABELS[r]) for r in sorted(principal.withheld_roles))
        st.info(_(
            "Your account's groups carry a portal role ({roles}), but the portal gives such roles only to "
            "people the company holds an employee record for."
        ).format(roles=roles))
    if principal.unmapped_groups:
        st.info(_(
            "Your account is in the group(s) {groups}, which grant no portal role. An administrator maps groups "
            "to roles with PORTAL_ROLE_GROUPS."
        ).format(groups=groups_text(principal, quoted=True)))
    st.markdown(_(
        "If you believe the company does hold data about you, sign in with your company account, "
        "or contact the privacy office."
    ))
    ui.logout_button()


def signed_out_screen() -> None:
    st.title(_("You signed out of this session"))
    st.info(_(ui.SIGNED_OUT))
    if st.button(_("Log in"), type="primary", icon=":material/login:"):
        st.login()


def expired_screen(svc) -> None:  # noqa: ANN001
    st.title(_("Your session has expired"))
    st.info(_(
        "For your protection a sign-in lasts at most {hours} hours. Log out and sign in again to continue."
    ).format(hours=f"{svc.settings.max_session_hours:g}"))
    ui.logout_button()


def sidebar(principal) -> None:  # noqa: ANN001
    with st.sidebar:
        st.markdown(f"**{md(principal.display_name)}**")
        roles = ", ".join(_(policy.ROLE_LABELS[r]) for r in sorted(principal.roles))
        st.caption(_("Signed in as {account} · {roles}").format(account=md(principal.email or principal.subject),
                                                                roles=roles))
        if principal.unmapped_groups:
            st.caption(_("Groups without a portal role: {groups}").format(groups=groups_text(principal)))
        ui.logout_button(key="sidebar-logout")


def one_screen() -> None:
    """The screen for anyone who gets no pages: not signed in, signed out, expired, or no record."""
    if not st.user.is_logged_in:
        login_screen()
        return
    svc = ui.services()  # stops with the reason when the stores cannot be opened
    if ui.session_ended(svc):
        signed_out_screen()
        return
    principal = ui.current_principal(svc)
    if ui.is_expired(svc, principal):
        expired_screen(svc)
        return
    if principal.roles:  # a check that failed a moment ago, before the navigation, passes now
        st.rerun()
    no_record_screen(principal)


def page_title(principal, path: str, title: str) -> str:  # noqa: ANN001
    """A page's title in the language of the run; Notifications says how many are unread."""
    if path != "app_pages/notifications.py":
        return _(title)
    unread = ui.services().unread_notices(principal)
    return _("Notifications ({n} unread)").format(n=i18n.number(unread)) if unread else _(title)


def main() -> None:
    principal = ui.principal_with_pages()
    if principal is None:
        # Navigation with this one screen, hidden, so that the browser is sent no page but this one.
        st.navigation([st.Page(one_screen, title=_("Telemetry transparency portal"))], position="hidden").run()
        return
    pages = [
        st.Page(path, title=page_title(principal, path, title), icon=icon, url_path=Path(path).stem)
        for path, title, icon, action in PAGES
        if policy.allowed(principal, action, principal.employee_id)
    ]
    sidebar(principal)
    st.navigation(pages).run()


main()
