"""Streamlit glue shared by app.py and the pages: services, the signed-in principal, guards.

Everything here is per session: the principal is derived from ``st.user`` on
every run, never stored where another session could read it.
"""

from __future__ import annotations

import functools
import json
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import pandas  # noqa: F401 - imported before any session thread: plotly reads a half-imported pandas otherwise
import polars as pl
import streamlit as st

from portal.core import cache_epoch, caches, i18n
from portal.core.i18n import N_, _
from portal.identity import policy, sessions
from portal.core.plain_text import md
from portal.identity.principal import ClaimRules, ClaimsError, Principal, principal_from_claims, session_expired
from portal.core.settings import SettingsError, load_settings

if TYPE_CHECKING:  # the domain takes seconds to import; the sign-in screen of a fresh process needs none of it
    from portal import bootstrap

REQUIRED_AUTH_KEYS = ("redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url")
SIGNED_OUT = N_("You signed out of this session; sign in again.")
SECRETS_HELP = N_(
    "Copy `.streamlit/secrets.toml.example` to `.streamlit/secrets.toml` and fill in your identity "
    "provider, or run `make demo`, which starts the portal with its own secrets for a local provider."
)


def _share_sign_in_tls_context() -> None:
    """One TLS context for Streamlit's sign-in routes, built once instead of for every call to the provider.

    The routes build a new OAuth client for each call to the identity provider (five per sign-in: the
    discovery document twice, the authorization URL, the token, the signing keys), and each client builds
    a TLS context, parsing the system's CA bundle again: about 30 ms of CPU each, 0.16 CPU-s per sign-in.
    The shared context is the one such a client builds by default (its HTTP library's
    ``create_ssl_context()``, which honours ``SSL_CERT_FILE`` and ``SSL_CERT_DIR``), built on first use; an
    ``SSLContext`` is made to be shared by connections and threads. A client the ``[auth]`` section's
    ``client_kwargs`` gives its own ``verify`` or ``cert``, or HTTP/2 (which sets other ALPN protocols on
    its context), still builds its own.
    """
    try:
        from authlib.integrations.httpx_client import oauth2_client
        from authlib.integrations.starlette_client import StarletteOAuth2App
    except ImportError:  # no sign-in without Authlib; Streamlit says so on the login page
        return
    base = StarletteOAuth2App.client_cls
    if getattr(base, "shares_tls_context", False):
        return  # done in this process already
    http = oauth2_client.httpx2  # the HTTP library Authlib's clients are built on

    @functools.cache
    def context() -> ssl.SSLContext:
        return http.create_ssl_context()

    class SignInClient(base):  # type: ignore[misc, valid-type]
        shares_tls_context = True

        def __init__(self, *args: object, **kwargs: object) -> None:
            if not {"verify", "cert"} & kwargs.keys() and not kwargs.get("http2"):
                kwargs["verify"] = context()
            super().__init__(*args, **kwargs)

    StarletteOAuth2App.client_cls = SignInClient


_share_sign_in_tls_context()


@dataclass(frozen=True)
class Context:
    services: bootstrap.Services
    principal: Principal


@st.cache_resource(show_spinner=False)
def _services() -> bootstrap.Services:
    from portal import bootstrap

    return bootstrap.build(load_settings())


_epochs = cache_epoch.Watcher()


def _open_services() -> bootstrap.Services:
    svc = _services()
    if _epochs.changed(svc.engine):
        # An erasure ran (perhaps from the CLI): no cached copy may outlive it.
        caches.forget()
        st.cache_data.clear()
    svc.housekeeping()  # people's own copies older than an hour go, whoever they belong to
    return svc


def services() -> bootstrap.Services:
    """The stores, or a clear error page (never a traceback) when they cannot be opened."""
    from portal import bootstrap

    try:
        return _open_services()
    except (SettingsError, bootstrap.BootstrapError) as exc:
        st.error(_("**The portal cannot start.** {problem}").format(problem=exc))
        st.stop()


def principal_with_pages() -> Principal | None:
    """The signed-in principal whose pages app.py lists, or None when app.py shows one screen instead.

    None for a visitor, a login ended with "Log out", an expired session, a person with no record,
    and whenever a check cannot be made: it never draws or stops, because it runs before
    ``st.navigation`` (the screen shown instead repeats the checks and says what failed).
    """
    if not st.user.is_logged_in:
        return None
    from portal import bootstrap

    claims = st.user.to_dict()
    try:
        svc = _open_services()
        if sessions.is_revoked(svc.engine, claims):
            return None
        principal = principal_from_claims(claims, svc.directory, ClaimRules.from_settings(svc.settings))
    except (SettingsError, bootstrap.BootstrapError, sessions.SessionStoreError, ClaimsError):
        return None
    if not principal.roles or is_expired(svc, principal):
        return None
    return principal


def auth_problem() -> str | None:
    """A sentence saying what is wrong with the ``[auth]`` secrets, or None when usable."""
    try:
        auth = st.secrets.get("auth")
    except FileNotFoundError:
        return _("There is no `.streamlit/secrets.toml`, so sign-in is not configured.") + " " + _(SECRETS_HELP)
    except Exception as exc:  # noqa: BLE001 - Streamlit raises several types for unreadable TOML
        return _("`.streamlit/secrets.toml` cannot be read ({problem}).").format(problem=exc) + " " + _(SECRETS_HELP)
    if auth is None:
        return _("`.streamlit/secrets.toml` has no `[auth]` section, so sign-in is not configured.") + " " \
            + _(SECRETS_HELP)
    missing = [k for k in REQUIRED_AUTH_KEYS if not auth.get(k)]
    if missing:
        return _("The `[auth]` section of `.streamlit/secrets.toml` lacks {keys}.").format(
            keys=", ".join(missing)) + " " + _(SECRETS_HELP)
    return None


@st.cache_data(ttl=15, show_spinner=False)
def provider_problem(metadata_url: str, language: str = i18n.DEFAULT_LANGUAGE) -> str | None:
    """Whether the identity provider answers, said in ``language``; cached briefly so the login page stays fast."""
    try:
        with urllib.request.urlopen(metadata_url, timeout=3) as response:  # noqa: S310 - configured URL
            meta = json.loads(response.read())
        if "authorization_endpoint" not in meta:
            return _("{url} answered, but it is not an OpenID Connect discovery document.").format(url=metadata_url)
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return _(
            "The sign-in provider at {url} is not reachable ({reason}). "
            "Start it (`make demo` starts the local one) or correct `server_metadata_url` in "
            "`.streamlit/secrets.toml`."
        ).format(url=metadata_url, reason=reason)
    return None


def current_principal(svc: bootstrap.Services) -> Principal | None:
    """The principal for the signed-in user, or None when nobody is signed in."""
    if not st.user.is_logged_in:
        return None
    try:
        return principal_from_claims(st.user.to_dict(), svc.directory, ClaimRules.from_settings(svc.settings))
    except ClaimsError as exc:
        # The message names claims (``_claim_names``, ``cognito:groups``) that Markdown would mangle.
        st.error(_("**Your sign-in could not be used:** {problem}. Sign out and try again.").format(
            problem=md(str(exc))))
        logout_button()
        st.stop()


def is_expired(svc: bootstrap.Services, principal: Principal) -> bool:
    return session_expired(principal, timedelta(hours=svc.settings.max_session_hours))


def session_ended(svc: bootstrap.Services) -> bool:
    """True when this login was ended with "Log out" (perhaps in another browser holding a copy of its cookie)."""
    try:
        return sessions.is_revoked(svc.engine, st.user.to_dict())
    except sessions.SessionStoreError as exc:
        st.error(_("**The portal cannot check your session:** {problem}. Try again in a moment.").format(
            problem=exc))
        st.stop()


def _log_out() -> None:
    """End the session in the portal first, so no copy of its cookie opens anything, then at the provider."""
    try:
        sessions.revoke(services().engine, st.user.to_dict())
    except sessions.SessionStoreError as exc:
        st.error(_("**You are still signed in:** {problem}. Try again in a moment.").format(problem=exc))
        return
    st.logout()


def logout_button(key: str = "logout") -> None:
    # A callback, not the button's return value: app.py draws this button before st.navigation picks
    # the page, and the button's id changes on the first run that knows the page, so a click on the
    # first page shown would read as False and quietly not log out.
    st.button(_("Log out"), key=key, icon=":material/logout:", on_click=_log_out)


def require(action: str) -> Context:
    """Guard a page: the signed-in principal must be allowed ``action`` on their own data.

    Pages call this first. It re-derives the principal, so a page opened directly
    (or reached by a stale link) is checked as strictly as the navigation is.
    """
    svc = services()
    principal = current_principal(svc)
    if principal is None or is_expired(svc, principal):
        st.error(_("Please sign in first."))
        st.stop()
    if session_ended(svc):
        st.error(_(SIGNED_OUT))
        st.stop()
    if not policy.allowed(principal, action, principal.employee_id):
        st.error(_("You do not have access to this page ({why})").format(why=_(policy.action(action).description)))
        st.stop()
    return Context(services=svc, principal=principal)


def _browser_language() -> str | None:
    """The first language the browser asks for that the portal speaks: its ``Accept-Language`` header, else
    ``navigator.language`` (a WebSocket's handshake does not always carry the header)."""
    try:
        header, locale = st.context.headers.get("Accept-Language"), st.context.locale
    except Exception:  # noqa: BLE001 - no browser behind this run (a bare script, a test): nothing asked for
        return None
    return i18n.negotiate(header) or i18n.negotiate(locale)


def language() -> str:
    """The language of this run: the signed-in person's choice on their Settings page, else the first language
    the browser asks for that the portal speaks, else PORTAL_LANGUAGE."""
    settings_language = i18n.DEFAULT_LANGUAGE
    if st.user.is_logged_in:
        try:
            svc = _open_services()
            settings_language = svc.settings.language
            principal = principal_from_claims(st.user.to_dict(), svc.directory, ClaimRules.from_settings(svc.settings))
            chosen = svc.chosen_language(principal)
            if chosen:
                return chosen
        except Exception:  # noqa: BLE001 - the screens that follow say what is wrong; the language falls back
            pass
    return _browser_language() or settings_language


# Column names and short labels that the domain's tables carry in English (the person's copy and the code read
# them so); a page shows them in the run's language through table().
TABLE_WORDS = (
    N_("When"), N_("What happened"), N_("By"), N_("Reason"), N_("Request"), N_("Deadline"), N_("Due"),
    N_("Days left"), N_("Kind"), N_("Status"), N_("Person"), N_("Scope"), N_("Received"), N_("Store"), N_("Table"),
    N_("What"), N_("Rows"), N_("Delta version now"), N_("Dataset"), N_("Version"), N_("Purpose"),
    N_("Records of the person"), N_("Status now"), N_("Will be"), N_("Model"), N_("Trained on"), N_("Flags"),
    N_("Who"), N_("Category"), N_("Flagged because"), N_("Records"), N_("Action"), N_("Justification"),
    N_("Team and role"), N_("Source system"), N_("Query or run id"), N_("In the signed log"), N_("Stored in"),
    N_("Created"), N_("Owner"), N_("Your records in it"), N_("Models trained on it"), N_("Trained"),
    N_("Trained on (your datasets)"),
)
LABEL_WORDS = (N_("no purpose"), N_("role not allowed"), N_("over-exposure"), N_("overdue"), N_("at risk"))


def table(frame: pl.DataFrame, lists: tuple[str, ...] = ()) -> pl.DataFrame:
    """``frame`` with its column names, and the labels in its list columns ``lists``, in the run's language."""
    labels = {label: _(label) for label in LABEL_WORDS}
    frame = frame.with_columns(pl.col(c).list.eval(pl.element().replace(labels)) for c in lists if c in frame.columns)
    names = {c: _(c) for c in frame.columns}
    if len(set(names.values())) < len(names):  # two columns would read alike: keep the names as they are
        return frame
    return frame.rename(names)


def labels(words: tuple[str, ...]) -> list[str]:
    """Short labels (a multiselect column's options) in the run's language."""
    return [_(w) for w in words]
