"""A person's notice settings: how often the digest of reads comes, and the language they chose."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core import db, i18n
from portal.core.i18n import N_, _
from portal.identity import policy
from portal.identity.principal import Principal

DAILY, WEEKLY, OFF = "daily", "weekly", "off"
DIGESTS = {DAILY: N_("Daily"), WEEKLY: N_("Weekly"), OFF: N_("Never")}
DEFAULT_DIGEST = WEEKLY


class PreferencesError(ValueError):
    """A setting the portal cannot store; the message names it."""


@dataclass(frozen=True)
class NoticeSettings:
    digest: str = DEFAULT_DIGEST
    language: str | None = None  # None: follow the browser


def _row(conn: Connection, employee_id: str) -> sa.Row | None:
    return conn.execute(sa.select(db.notice_settings).where(db.notice_settings.c.employee_id == employee_id)).first()


def settings_of(conn: Connection, employee_id: str) -> NoticeSettings:
    row = _row(conn, employee_id)
    return NoticeSettings(row.digest, row.language) if row is not None else NoticeSettings()


def stored_language(engine: Engine, employee_id: str | None) -> str | None:
    """The language the person chose on their Settings page; None when they follow the browser."""
    if employee_id is None:
        return None
    with engine.connect() as conn:
        language = conn.execute(sa.select(db.notice_settings.c.language)
                                .where(db.notice_settings.c.employee_id == employee_id)).scalar()
    return language if language in i18n.LANGUAGES else None


def my_settings(engine: Engine, principal: Principal) -> NoticeSettings:
    subject = _own(principal)
    with engine.connect() as conn:
        return settings_of(conn, subject)


def save(engine: Engine, principal: Principal, *, digest: str, language: str | None,
         now: datetime | None = None) -> NoticeSettings:
    """Stores the principal's own choices (never anyone else's: the person comes from the principal)."""
    subject = _own(principal)
    if digest not in DIGESTS:
        raise PreferencesError(_("Unknown digest frequency {value}; choose daily, weekly or never.").format(
            value=repr(digest)))
    if language is not None:
        try:
            language = i18n.checked(language)
        except i18n.LanguageError:
            raise PreferencesError(_("Unknown language {value}; choose English or Deutsch.").format(
                value=repr(language))) from None
    values = {"digest": digest, "language": language, "updated_at": now or datetime.now(UTC)}
    with engine.begin() as conn:
        if _row(conn, subject) is None:
            conn.execute(sa.insert(db.notice_settings).values(employee_id=subject, **values))
        else:
            conn.execute(sa.update(db.notice_settings).where(db.notice_settings.c.employee_id == subject)
                         .values(**values))
    return NoticeSettings(digest, language)


def _own(principal: Principal) -> str:
    subject = principal.employee_id
    if subject is None:
        raise policy.PermissionDenied(_("Not allowed: the company holds no employee record for you."))
    policy.ensure(principal, "settings:edit_own", subject)
    return subject
