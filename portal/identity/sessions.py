"""Logging out ends the session in the portal, not only in the browser that clicked.

Streamlit keeps the signed-in person's identity claims in a signed cookie
(``_streamlit_user``) and accepts it for 30 days (and a day's grace); "Log out"
deletes the cookie from that one browser. A copy of the cookie taken before
would still open the person's data anywhere. So the portal records, in the
metadata DB that every replica shares, that the session ended
(:func:`revoke`), and refuses it on its next request (:func:`is_revoked`).

A session is named by a SHA-256 over the claims that identify one login:
issuer, subject, audience, issued-at, ``auth_time`` and the nonce Streamlit
sends with every sign-in. Signing in again yields a new nonce and a new
issued-at, so a fresh login is never refused. Only the hash is stored: the
table names no one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import db
from portal.core.i18n import _

# The claims that together name one login; claims Streamlit adds itself (is_logged_in,
# provider, origin) and profile claims (name, e-mail, groups) are left out.
SESSION_CLAIMS = ("iss", "sub", "aud", "iat", "auth_time", "nonce")
# Longer than Streamlit accepts its identity cookie (30 days and a day's grace), measured
# from the logout, which comes after the cookie was signed: older records protect nothing.
KEPT_FOR = timedelta(days=32)


class SessionStoreError(RuntimeError):
    """The end of a session could not be recorded or checked; the message says why."""


def session_key(claims: Mapping[str, object]) -> str | None:
    """The hash naming this login, or None when the claims cannot name one.

    Without a subject and an issue time (``iat`` or ``auth_time``) two logins could
    not be told apart; the portal already treats such a session as expired.
    """
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        return None
    if claims.get("iat") is None and claims.get("auth_time") is None:
        return None
    named = {name: claims[name] for name in SESSION_CLAIMS if claims.get(name) is not None}
    canonical = json.dumps(named, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def revoke(engine: Engine, claims: Mapping[str, object], now: datetime | None = None) -> bool:
    """Record that this login ended; True if recorded (again is fine), False if it has no name.

    Records older than :data:`KEPT_FOR` are dropped on the way: the cookies they
    refuse are no longer accepted by Streamlit itself.
    """
    key = session_key(claims)
    if key is None:
        return False
    now = now or datetime.now(UTC)
    table = db.revoked_sessions
    try:
        with engine.begin() as conn:
            known = conn.execute(sa.select(table.c.session_key).where(table.c.session_key == key)).first()
            if known is None:
                conn.execute(sa.insert(table).values(session_key=key, revoked_at=now))
            conn.execute(sa.delete(table).where(table.c.revoked_at < now - KEPT_FOR))
    except sa.exc.IntegrityError:
        pass  # another replica recorded the same logout at the same moment
    except sa.exc.SQLAlchemyError as exc:
        raise SessionStoreError(_("the metadata DB did not record the sign-out ({why})").format(
            why=_reason(exc))) from None
    return True


def is_revoked(engine: Engine, claims: Mapping[str, object]) -> bool:
    """True when this login was ended with "Log out"."""
    key = session_key(claims)
    if key is None:
        return False
    table = db.revoked_sessions
    try:
        with engine.connect() as conn:
            found = conn.execute(sa.select(table.c.session_key).where(table.c.session_key == key)).first()
    except sa.exc.SQLAlchemyError as exc:
        raise SessionStoreError(_("the metadata DB could not be asked whether this session ended ({why})").format(
            why=_reason(exc))) from None
    return found is not None


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return " ".join(str(orig if orig is not None else exc).split())
