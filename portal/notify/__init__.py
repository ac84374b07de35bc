"""Telling people without their having to look: reads of their data, their requests, collectors of their data.

``portal notify run`` (:func:`run`) creates notices from the access log, request transitions and collector
decisions, and the digests of periods that ended; each is stored once, listed on the person's
Notifications page and sent by e-mail when ``PORTAL_SMTP_URL`` is set. A notice names readers as the
person's own pages do (``PORTAL_ACTOR_NAMING``) and never holds the data itself.
"""

from portal.notify.mailer import MailError
from portal.notify.notices import Notice, for_principal, mark_read, unread_count
from portal.notify.preferences import DIGESTS, NoticeSettings, PreferencesError, my_settings, save, stored_language
from portal.notify.run import RunReport, run

__all__ = ["DIGESTS", "MailError", "Notice", "NoticeSettings", "PreferencesError", "RunReport", "for_principal",
           "mark_read", "my_settings", "run", "save", "stored_language", "unread_count"]
