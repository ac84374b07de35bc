"""``portal notify run``: create what there is to tell, then send what is unsent.

Creating is one transaction per run: the notices and how far each source was read commit together, so a
run killed half-way creates nothing and the next one creates it all. Each notice is unique by its source
(``notices.source_key``): two runs at once create it once. Sending marks a notice ``sending`` before the
SMTP transaction and ``sent`` after it: a run killed between the server's acceptance and that record leaves
it ``sending``, and the next run sends it again (at most once more, with the same Message-ID, so mail
clients can tell it is the same message). A failed send is retried by later runs, up to
:data:`MAX_ATTEMPTS` times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import db, i18n
from portal.core.settings import Settings
from portal.lake import volume_rollup
from portal.lake.telemetry import TelemetryStore
import portal.notify.mailer as mailer
import portal.notify.notices as notices
import portal.notify.sources as sources

MAX_ATTEMPTS = 5
Holders = Callable[[str], Iterable[str]]


@dataclass
class RunReport:
    created: dict[str, int] = field(default_factory=dict)  # kind -> notices created
    people: int = 0
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (notice id, problem)
    email_off: bool = False
    mail_problem: str | None = None

    @property
    def created_total(self) -> int:
        return sum(self.created.values())

    def describe(self) -> str:
        from portal.core.i18n import _, ngettext

        lines = [_("{notices} for {people}.").format(
            notices=ngettext("{n} new notice", "{n} new notices", self.created_total).format(
                n=i18n.number(self.created_total)),
            people=ngettext("{n} person", "{n} people", self.people).format(n=i18n.number(self.people)))]
        if self.email_off:
            lines.append(_("E-mail is off (PORTAL_SMTP_URL is empty): notices are listed on the portal only."))
        else:
            lines.append(_("{sent} sent, {failed} failed.").format(
                sent=ngettext("{n} e-mail", "{n} e-mails", self.sent).format(n=i18n.number(self.sent)),
                failed=i18n.number(len(self.failed))))
        if self.mail_problem:
            lines.append(self.mail_problem)
        lines += [f"  {notice_id}: {problem}" for notice_id, problem in self.failed[:10]]
        return "\n".join(lines)


def create(engine: Engine, settings: Settings, *, now: datetime, holders: Holders, report: RunReport) -> None:
    email = bool(settings.smtp_url)
    with engine.begin() as conn:
        known = sources.marks(conn)
        reads, reads_mark = sources.new_reads(conn, settings, known, now)
        requests, requests_mark = sources.request_changes(conn, settings, known, now)
        collectors, collectors_mark = sources.collector_changes(conn, settings, known, now, holders)
        pending = [*reads, *requests, *collectors, *sources.digests(conn, settings, now)]
        chosen = {r.employee_id: r.language for r in conn.execute(
            sa.select(db.notice_settings.c.employee_id, db.notice_settings.c.language))}
        people = set()
        for item in pending:
            language = chosen.get(item.employee_id) or settings.language
            with i18n.in_language(language):
                draft = item.draft()
            if notices.add(conn, draft, language=language, email=email, now=now):
                report.created[item.kind] = report.created.get(item.kind, 0) + 1
                people.add(item.employee_id)
        report.people = len(people)
        for source, mark in ((sources.ACCESS, reads_mark), (sources.REQUESTS, requests_mark),
                             (sources.COLLECTORS, collectors_mark)):
            sources.set_mark(conn, source, mark, known)


def send(engine: Engine, settings: Settings, *, now: datetime, report: RunReport) -> None:
    if not settings.smtp_url:
        report.email_off = True
        return
    n, e = db.notices.c, db.employees.c
    with engine.connect() as conn:
        due = conn.execute(sa.select(n.notice_id, n.subject, n.body, n.language, n.created_at, e.email)
                           .select_from(db.notices.outerjoin(db.employees, n.employee_id == e.employee_id))
                           .where(n.email_status.in_([notices.PENDING, notices.SENDING, notices.FAILED]),
                                  n.email_attempts < MAX_ATTEMPTS)
                           .order_by(n.created_at, n.notice_id)).all()
    if not due:
        return
    server = mailer.Server.parse(settings.smtp_url)
    try:
        connection = mailer.Connection(server)
    except mailer.MailError as exc:
        report.mail_problem = str(exc)
        report.failed += [(row.notice_id, str(exc)) for row in due]
        _record(engine, [row.notice_id for row in due], notices.FAILED, now, str(exc), attempt=True)
        return
    try:
        for row in due:
            if not row.email:
                _record(engine, [row.notice_id], notices.OFF, now, "no e-mail address in the directory")
                continue
            _record(engine, [row.notice_id], notices.SENDING, now, None, attempt=True)
            mail = mailer.message(sender=settings.mail_from, to=row.email, subject=row.subject, body=row.body,
                                  message_id=row.notice_id, when=now, language=row.language)
            try:
                connection.send(mail)
            except (OSError, mailer.smtplib.SMTPException) as exc:
                problem = exc.__class__.__name__ + (f" ({exc})" if str(exc) else "")
                report.failed.append((row.notice_id, problem))
                _record(engine, [row.notice_id], notices.FAILED, now, problem)
                continue
            _record(engine, [row.notice_id], notices.SENT, now, None)
            report.sent += 1
    finally:
        connection.close()


def _record(engine: Engine, ids: list[str], status: str, now: datetime, error: str | None, *,
            attempt: bool = False) -> None:
    n = db.notices.c
    values: dict[str, object] = {"email_status": status, "email_error": error}
    if status == notices.SENT:
        values["email_sent_at"] = now
    if attempt:
        values["email_attempts"] = n.email_attempts + 1
    with engine.begin() as conn:
        conn.execute(sa.update(db.notices).where(n.notice_id.in_(ids)).values(**values))


def holders_in(store: TelemetryStore) -> Holders:
    """``holders(category_key)``: the people the lake holds records of in that category (from its rollups,
    read once per run and only when a collector decision needs them)."""
    frame: list[pl.DataFrame] = []

    def holders(category_key: str) -> list[str]:
        if not frame:
            frame.append(volume_rollup.weekly_records(store).select("subject_id", "category").unique())
        return frame[0].filter(pl.col("category") == category_key)["subject_id"].to_list()

    return holders


def run(engine: Engine, settings: Settings, *, holders: Holders, now: datetime | None = None,
        email: bool = True) -> RunReport:
    """Creates the notices there are, then (``email``) sends the unsent ones."""
    moment = now or datetime.now(UTC)
    report = RunReport()
    create(engine, settings, now=moment, holders=holders, report=report)
    if email:
        send(engine, settings, now=moment, report=report)
    return report
