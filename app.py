"""Composition root: settings, login gate, principal, navigation by role."""

from __future__ import annotations

import streamlit as st

import ui
from portal.core import file_modes
from portal.identity import policy
from portal.core.plain_text import md

# Whatever umask Streamlit was started with, what this process writes (lake, DB, copies) is owner-only.
file_modes.restrict_process()

st.set_page_config(page_title="Telemetry transparency portal", page_icon=":material/visibility:", layout="wide")

# (file, title, icon, action): a page appears only for principals allowed its action;
# each page also calls ui.require() with the same action. The folder is not called pages/: until a
# session has run st.navigation, Streamlit lists every file of a pages/ folder to anyone and runs
# the one a URL names without this script.
PAGES = [
    ("app_pages/my_data.py", "My data", ":material/person:", "telemetry:read_own"),
    ("app_pages/who_accessed.py", "Who accessed my data", ":material/visibility:", "access_log:read_own"),
    ("app_pages/where_my_data_went.py", "Where my data went", ":material/account_tree:", "lineage:read_own"),
    ("app_pages/my_copy.py", "My copy", ":material/download:", "export:own"),
    ("app_pages/my_requests.py", "My requests", ":material/gavel:", "requests:file_own"),
    ("app_pages/council_overview.py", "Council overview", ":material/groups:", "aggregates:read"),
    ("app_pages/exposure.py", "Exposure", ":material/policy:", "exposure:read"),
    ("app_pages/request_queue.py", "Request queue", ":material/inbox:", "requests:read_all"),
    ("app_pages/collectors.py", "Collectors", ":material/sensors:", "collectors:read"),
    ("app_pages/subject_lookup.py", "Subject lookup", ":material/person_search:", "subjects:lookup"),
    ("app_pages/log_integrity.py", "Access log integrity", ":material/verified:", "audit:witness"),
    ("app_pages/my_access.py", "What I can do here", ":material/badge:", "rights:read_own"),
]


def login_screen() -> None:
    st.title("Telemetry transparency portal")
    st.markdown(
        "See what workplace telemetry the company holds about you: keystroke and mouse activity, "
        "active applications, chat messages, meeting transcriptions and performance records. "
        "See who read it and why, and which AI training datasets it feeds."
    )
    problem = ui.auth_problem()
    if problem:
        st.error(f"**Sign-in is not available.** {problem}")
        return
    problem = ui.provider_problem(st.secrets["auth"]["server_metadata_url"])
    if problem:
        st.error(f"**Sign-in is not available.** {problem}")
        return
    if st.button("Log in", type="primary", icon=":material/login:"):
        st.login()
    st.caption("You sign in with your company account. Nothing is shown before you do.")


def groups_text(principal, *, quoted: bool = False) -> str:  # noqa: ANN001
    """The groups that grant no role, as text (they come from the token), the first few and how many more."""
    shown = ", ".join(f"“{md(g)}”" if quoted else md(g) for g in principal.unmapped_groups)
    more = principal.unmapped_group_count - len(principal.unmapped_groups)
    return shown + (f" and {more:,} more" if more > 0 else "")


def no_record_screen(principal) -> None:  # noqa: ANN001
    st.title("We have no record of you")
    st.warning(
        f"You signed in as **{md(principal.subject)}**"
        + (f" ({md(principal.email)})" if principal.email and principal.email != principal.subject else "")
        + ", but the company holds no employee record linked to this account. "
        "There is therefore no telemetry to show you, and this portal shows nobody else's data."
    )
    if principal.withheld_roles:
        # Roles are for people of the company: a guest account in a mapped group reads no council figures.
        roles = ", ".join(policy.ROLE_LABELS[r] for r in sorted(principal.withheld_roles))
        st.info(
            f"Your account's groups carry a portal role ({roles}), but the portal gives such roles only to "
            "people the company holds an employee record for."
        )
    if principal.unmapped_groups:
        st.info(
            "Your account is in the group(s) " + groups_text(principal, quoted=True)
            + ", which grant no portal role. An administrator maps groups to roles with PORTAL_ROLE_GROUPS."
        )
    st.markdown(
        "If you believe the company does hold data about you, sign in with your company account, "
        "or contact the privacy office."
    )
    ui.logout_button()


def signed_out_screen() -> None:
    st.title("You signed out of this session")
    st.info(ui.SIGNED_OUT)
    if st.button("Log in", type="primary", icon=":material/login:"):
        st.login()


def expired_screen(svc) -> None:  # noqa: ANN001
    st.title("Your session has expired")
    st.info(
        f"For your protection a sign-in lasts at most {svc.settings.max_session_hours:g} hours. "
        "Log out and sign in again to continue."
    )
    ui.logout_button()


def sidebar(principal) -> None:  # noqa: ANN001
    with st.sidebar:
        st.markdown(f"**{md(principal.display_name)}**")
        roles = ", ".join(policy.ROLE_LABELS[r] for r in sorted(principal.roles))
        st.caption(f"Signed in as {md(principal.email or principal.subject)} · {roles}")
        if principal.unmapped_groups:
            st.caption("Groups without a portal role: " + groups_text(principal))
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


def main() -> None:
    principal = ui.principal_with_pages()
    if principal is None:
        # Navigation with this one screen, hidden, so that the browser is sent no page but this one.
        st.navigation([st.Page(one_screen, title="Telemetry transparency portal")], position="hidden").run()
        return
    pages = [
        st.Page(path, title=title, icon=icon)
        for path, title, icon, action in PAGES
        if policy.allowed(principal, action, principal.employee_id)
    ]
    sidebar(principal)
    st.navigation(pages).run()


main()
