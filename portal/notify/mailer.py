"""E-mail through SMTP: ``PORTAL_SMTP_URL`` names the server, STARTTLS when it offers it (required before a
login), ``smtps://`` for TLS from the start. Messages are plain text; what a person wrote stays text."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from datetime import datetime
from urllib.parse import unquote, urlsplit

from portal.core.i18n import _

TIMEOUT_SECONDS = 30


class MailError(Exception):
    """The mail server cannot be used; the message says why (never the password)."""


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    implicit_tls: bool
    user: str | None
    password: str | None

    @classmethod
    def parse(cls, url: str) -> Server:
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:
            raise MailError(_("PORTAL_SMTP_URL: the port is not a number")) from None
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailError(_("PORTAL_SMTP_URL must be smtp://host:port or smtps://host:port"))
        implicit = parts.scheme == "smtps"
        return cls(parts.hostname, port or (465 if implicit else 587), implicit,
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password else None)

    @property
    def name(self) -> str:
        return f"{self.host}:{self.port}"


def message(*, sender: str, to: str, subject: str, body: str, message_id: str, when: datetime,
            language: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = " ".join(subject.split())  # a line break in a header would start a header of its own
    mail["Date"] = format_datetime(when)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    mail["Message-ID"] = f"<{message_id}@{domain}>"
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(body)
    mail["Content-Language"] = language  # after set_content, which sets the Content-* headers anew
    return mail


class Connection:
    """One SMTP session for a run's messages."""

    def __init__(self, server: Server) -> None:
        self.server = server
        context = ssl.create_default_context()
        try:
            if server.implicit_tls:
                self.smtp: smtplib.SMTP = smtplib.SMTP_SSL(server.host, server.port, timeout=TIMEOUT_SECONDS,
                                                           context=context)
            else:
                self.smtp = smtplib.SMTP(server.host, server.port, timeout=TIMEOUT_SECONDS)
                self.smtp.ehlo()
                if self.smtp.has_extn("starttls"):
                    self.smtp.starttls(context=context)
                    self.smtp.ehlo()
                elif server.user:
                    self.smtp.close()
                    raise MailError(_("the mail server {server} offers no STARTTLS; the portal does not send a "
                                      "password unencrypted").format(server=server.name))
            if server.user:
                self.smtp.login(server.user, server.password or "")
        except MailError:
            raise
        except smtplib.SMTPAuthenticationError:
            raise MailError(_("the mail server {server} refused the login in PORTAL_SMTP_URL").format(
                server=server.name)) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(_("cannot use the mail server {server}: {problem}").format(
                server=server.name, problem=exc.__class__.__name__ + (f" ({exc})" if str(exc) else ""))) from None

    def send(self, mail: EmailMessage) -> None:
        self.smtp.send_message(mail)

    def close(self) -> None:
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
