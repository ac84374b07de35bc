"""The portal in the reader's language: gettext catalogs, the language of this run, and babel's formats.

Text a person reads is written in English in the code and wrapped in :func:`_` (or :func:`ngettext` for
counts); ``make messages`` extracts it into the catalogs under ``portal/locale/<language>/LC_MESSAGES``
(one ``.po`` file per domain, see :mod:`portal.core.message_catalogs`), and
``tests/unit/core/test_message_catalogs.py`` fails while any of it lacks an English or a German entry.
Text chosen before a language is known (a module constant, a role's label) is marked with :func:`N_`
and translated where it is shown: ``_(ROLE_LABELS[role])``.

The language is a context variable: the portal sets it at the start of each script run from the
person's stored choice or the browser's ``Accept-Language``, the CLI from ``PORTAL_LANGUAGE`` or the
environment's locale, and the notifier per recipient (:func:`in_language`). Dates and numbers are
formatted by babel in the same language (English in its British form: "27 Nov 2026", "1,234").
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date as Date
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES: dict[str, str] = {"en": "English", "de": "Deutsch"}
DEFAULT_LANGUAGE = "en"
#: The locale each language formats dates and numbers in.
FORMAT_LOCALES = {"en": "en_GB", "de": "de_DE"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"

_language: ContextVar[str] = ContextVar("portal_language", default=DEFAULT_LANGUAGE)


class LanguageError(ValueError):
    """A language the portal does not speak; the message names it and the ones it does."""


def checked(language: str) -> str:
    """``language`` if the portal speaks it, else :class:`LanguageError`."""
    code = language.strip().lower().replace("_", "-").split("-")[0]
    if code not in LANGUAGES:
        raise LanguageError(f"unknown language {language!r}; the portal speaks {', '.join(LANGUAGES)}")
    return code


@cache
def translations(language: str) -> gettext.NullTranslations:
    """Every domain's catalog of ``language``, merged (a message id has one translation in all domains)."""
    merged: Translations | None = None
    for po_file in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=FORMAT_LOCALES.get(language, language), domain=po_file.stem)
        buffer = BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy (unreviewed) entry is not a translation
        buffer.seek(0)
        part = Translations(buffer, domain=po_file.stem)
        merged = part if merged is None else merged.merge(part)
    return merged if merged is not None else gettext.NullTranslations()


def language() -> str:
    """The language of what is being written now."""
    return _language.get()


def use(language: str) -> None:
    """Write in ``language`` from here on in this context (a script run, a command)."""
    _language.set(checked(language))


@contextmanager
def in_language(language: str) -> Iterator[None]:
    """Write in ``language`` inside the block (a notice to one person), then in the language before."""
    token = _language.set(checked(language))
    try:
        yield
    finally:
        _language.reset(token)


def _(message: str) -> str:
    """``message`` in the current language."""
    return translations(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of ``singular``/``plural`` for ``n`` in the current language (format ``{n}`` in yourself)."""
    return translations(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:  # noqa: N802 - the name gettext's tools look for
    """Marks ``message`` for the catalogs without translating it (it is translated where it is shown)."""
    return message


_RANGE = re.compile(r"\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def negotiate(accept_language: str | None) -> str | None:
    """The first language of an ``Accept-Language`` header that the portal speaks, by quality; ``None`` if none.

    Malformed parts are skipped (the header comes from the browser, so from anyone); ``*`` matches nothing,
    so the caller's default applies.
    """
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language[:1000].split(",")):
        match = _RANGE.fullmatch(part)
        if not match or match.group(1) == "*":
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        code = match.group(1).lower().replace("_", "-").split("-")[0]
        if quality > 0 and code in LANGUAGES:
            ranked.append((-quality, position, code))
    return min(ranked)[2] if ranked else None


def from_environment(environ: Mapping[str, str]) -> str:
    """The CLI's language: ``PORTAL_LANGUAGE`` if set, else the first of LANGUAGE, LC_ALL, LC_MESSAGES and
    LANG that is set, if the portal speaks it; else English."""
    explicit = environ.get("PORTAL_LANGUAGE", "").strip()
    if explicit:
        return checked(explicit)
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            first = value.split(":")[0].split(".")[0]
            return negotiate(first) or DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def _locale() -> Locale:
    return Locale.parse(FORMAT_LOCALES[_language.get()])


def number(value: int | float) -> str:
    """A count with the language's grouping: 12,345 or 12.345."""
    return numbers.format_decimal(value, locale=_locale())


def decimal(value: float, digits: int = 1) -> str:
    """A decimal with ``digits`` places: 3.5 or 3,5."""
    pattern = "#,##0." + "0" * digits if digits else "#,##0"
    return numbers.format_decimal(value, format=pattern, locale=_locale())


def percent(fraction: float, digits: int = 0) -> str:
    """A fraction as a percentage: 25% or 25 %."""
    pattern = "#,##0." + "0" * digits + "%" if digits else "#,##0%"
    return numbers.format_percent(fraction, format=pattern, locale=_locale())


def day(value: Date | datetime) -> str:
    """A day: 27 Nov 2026 or 27.11.2026."""
    return dates.format_date(value, format="medium", locale=_locale())


def long_day(value: Date | datetime) -> str:
    """A day in words: 27 November 2026 or 27. November 2026."""
    return dates.format_date(value, format="long", locale=_locale())


def moment(value: datetime) -> str:
    """A day and time in UTC: 27 Nov 2026, 14:03 or 27.11.2026, 14:03."""
    return dates.format_datetime(value, format="medium", locale=_locale(), tzinfo=dates.UTC).rsplit(":", 1)[0] \
        + " UTC"


def weekday(value: Date | datetime) -> str:
    """The day of the week's name: Monday or Montag."""
    return dates.format_date(value, format="EEEE", locale=_locale())
