"""Reading input that people and feeds send, line by line: bounded, decoded, parsed, and every problem
named with its line (or row) and field, so that an ingest can refuse the whole input, all or nothing.

Every ingest uses this: access events (:mod:`portal.audit.access_events`), grants
(:mod:`portal.council.grants`), lineage (:mod:`portal.lineage.openlineage`). :class:`Problems` collects up
to a limit; :class:`Fields` reads one parsed object with typed getters that record a problem instead of
raising; :class:`IngestRejected` carries them all to the caller (exit 2 in the CLI).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from portal.core import catalog, i18n, json_input
from portal.core.i18n import N_, _, ngettext
from portal.core.input_files import InputFileError, open_input, regular_size

MAX_LINE_BYTES = 16 * 1024
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_PROBLEMS = 100
MAX_INT32 = 2**31 - 1
# Collectors' clocks drift; an event a few minutes "ahead" is not a lie about the future.
CLOCK_SKEW = timedelta(minutes=5)
# No event may be older than the catalog's longest retention: a date outside every period the portal keeps
# is a mistake, and one in year 1 would stretch each timeline and weekly table over two thousand years.
def retention_horizon() -> timedelta:
    return timedelta(days=catalog.LONGEST_RETENTION_DAYS)


def __getattr__(name: str) -> timedelta:
    if name == "RETENTION_HORIZON":  # the active catalog's, when it is asked for
        return retention_horizon()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---- problems ------------------------------------------------------------


# How a problem's place reads: "line 12", "row 3", "record 2" (the unit stays a code in the data).
UNIT_WORDS = {"line": N_("line {n}"), "row": N_("row {n}"), "record": N_("record {n}")}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one line of input: where, which field, and what."""

    line: int
    field: str | None
    message: str
    file: str | None = None  # set when one ingest reads several files
    unit: str = "line"  # "row" for Parquet, which has no lines

    def __str__(self) -> str:
        unit = _(UNIT_WORDS[self.unit]) if self.unit in UNIT_WORDS else self.unit + " {n}"
        where = unit.format(n=self.line) if self.line else _("input")
        if self.file:
            where = f"{self.file} {where}" if self.line else self.file
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class IngestRejected(ValueError):
    """The input had problems; nothing was written. ``problems`` lists them in input order."""

    def __init__(self, source: str, problems: list[Problem], truncated: bool = False) -> None:
        self.source = source
        self.problems = tuple(problems)
        self.truncated = truncated
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = (ngettext("{n} problem(s) in {source} (stopped after the first {n}; there may be more); nothing was "
                         "written:", "{n} problem(s) in {source} (stopped after the first {n}; there may be more); "
                         "nothing was written:", n) if self.truncated else
                ngettext("{n} problem(s) in {source}; nothing was written:",
                         "{n} problem(s) in {source}; nothing was written:", n)).format(n=n, source=self.source)
        return "\n  ".join([head, *(str(p) for p in self.problems)])


class Problems:
    """Collects problems up to a limit; the ingest stops reading once it is full."""

    def __init__(self, limit: int = MAX_PROBLEMS) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.truncated = False

    def add(self, line: int, field: str | None, message: str, *, file: str | None = None,
            unit: str = "line") -> None:
        if len(self.items) >= self.limit:
            self.truncated = True
            return
        self.items.append(Problem(line, field, message, file, unit))

    @property
    def full(self) -> bool:
        return len(self.items) >= self.limit

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self, source: str) -> None:
        if self.items:
            raise IngestRejected(source, self.items, self.truncated)


# ---- reading input -------------------------------------------------------


Source = str | os.PathLike | Iterable[str | bytes]


def source_name(source: Source) -> str:
    return str(source) if isinstance(source, str | os.PathLike) else "input"


def read_lines(source: Source, problems: Problems, *, max_line_bytes: int = MAX_LINE_BYTES,
               max_file_bytes: int = MAX_FILE_BYTES) -> Iterator[tuple[int, str]]:
    """(line number, text) for each non-blank line; size and encoding problems go to ``problems``.

    A file is read with bounded ``readline`` calls, so one enormous line cannot
    exhaust memory before it is rejected; bytes are counted while reading, so a pipe
    or a device (whose size ``stat`` does not know) stops at ``max_file_bytes`` too.
    """
    if isinstance(source, str | os.PathLike):
        try:
            handle = open_input(source)
        except InputFileError as exc:
            problems.add(0, None, str(exc))
            return
        with handle:
            size = regular_size(handle)
            if size is not None and size > max_file_bytes:
                problems.add(0, None, _("the file is {size} bytes, more than the limit of {limit} bytes; split it "
                                        "into smaller files").format(size=i18n.number(size),
                                                                     limit=i18n.number(max_file_bytes)))
                return
            yield from _decoded(_bounded_lines(handle, max_line_bytes, max_file_bytes), problems, max_line_bytes,
                                max_file_bytes)
    else:
        yield from _decoded(((n, raw, 0) for n, raw in enumerate(source, 1)), problems,
                            max_line_bytes, max_file_bytes)


def _bounded_lines(handle: Any, limit: int, max_total: int) -> Iterator[tuple[int, bytes, int]]:
    """(line number, bytes, bytes skipped): a line longer than ``limit`` comes back empty with its length,
    counted up to just past ``max_total`` so that an endless line (``/dev/zero``) ends the input."""
    number = consumed = 0
    while consumed <= max_total:
        raw = handle.readline(limit + 1)
        if not raw:
            return
        number += 1
        consumed += len(raw)
        if len(raw) > limit and not raw.endswith(b"\n"):
            skipped = len(raw)
            while consumed <= max_total:  # skip the rest of the oversized line without holding it
                rest = handle.readline(1 << 16)
                skipped += len(rest)
                consumed += len(rest)
                if not rest or rest.endswith(b"\n"):
                    break
            yield number, b"", skipped
        else:
            yield number, raw, 0


def _decoded(lines: Iterable[tuple[int, str | bytes, int]], problems: Problems, max_line_bytes: int,
             max_file_bytes: int) -> Iterator[tuple[int, str]]:
    total = 0
    for number, raw, skipped in lines:
        if problems.full:
            problems.truncated = True
            return
        size = skipped or (len(raw) if isinstance(raw, bytes) else len(raw.encode("utf-8", "surrogatepass")))
        total += size
        if total > max_file_bytes:
            problems.add(number, None, _("the input passes the limit of {limit} bytes here; split it into smaller "
                                         "files").format(limit=i18n.number(max_file_bytes)))
            return
        if skipped or size > max_line_bytes + 2:  # +2: the line's own CR LF
            problems.add(number, None, _("the line is longer than the limit of {limit} bytes").format(
                limit=i18n.number(max_line_bytes)))
            continue
        if isinstance(raw, bytes):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                problems.add(number, None, _("is not valid UTF-8 (byte {byte})").format(byte=exc.start + 1))
                continue
        else:
            text = raw
        if number == 1:
            text = text.removeprefix("\ufeff")
        if text.strip():
            yield number, text


def parse_object(number: int, text: str, problems: Problems) -> dict | None:
    try:
        value = json_input.loads(text)
    except json_input.JsonInputError as exc:
        problems.add(number, None, str(exc))
        return None
    if not isinstance(value, dict):
        problems.add(number, None, _("must be a JSON object, not {kind}").format(kind=json_type(value)))
        return None
    return value


def json_type(value: object) -> str:
    """What kind of JSON value ``value`` is, in words (``null`` as JSON writes it)."""
    words = {dict: N_("an object"), list: N_("a list"), str: N_("a string"), bool: N_("true/false"),
             int: N_("a number"), float: N_("a number")}
    if value is None:
        return "null"
    return _(words[type(value)]) if type(value) in words else type(value).__name__


class Fields:
    """Typed getters over one parsed line that record a problem (with the field) instead of raising."""

    def __init__(self, obj: dict, number: int, problems: Problems, prefix: str = "") -> None:
        self.obj, self.number, self.problems, self.prefix = obj, number, problems, prefix
        self.ok = True

    def problem(self, name: str, message: str) -> None:
        self.ok = False
        self.problems.add(self.number, self.prefix + name, message)

    def text(self, name: str, max_len: int, *, required: bool = True) -> str | None:
        value = self.obj.get(name)
        if value is None:
            if required:
                self.problem(name, _("is missing") if name not in self.obj else _("must not be null"))
            return None
        if not isinstance(value, str):
            self.problem(name, _("must be a string, not {kind}").format(kind=json_type(value)))
            return None
        if required and not value.strip():
            self.problem(name, _("must not be empty"))
            return None
        if len(value) > max_len:
            self.problem(name, _("is {n} characters long, more than the limit of {limit}").format(
                n=i18n.number(len(value)), limit=i18n.number(max_len)))
            return None
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; refuse it everywhere so both stores hold the same.
            self.problem(name, _("contains a NUL character, which cannot be stored"))
            return None
        return value

    def choice(self, name: str, options: Iterable[str]) -> str | None:
        value = self.text(name, 100)
        options = tuple(options)
        if value is not None and value not in options:
            self.problem(name, _("{value} is not one of {options}").format(value=quoted(value),
                                                                           options=", ".join(options)))
            return None
        return value

    def count(self, name: str) -> int | None:
        value = self.obj.get(name)
        if name not in self.obj or value is None:
            self.problem(name, _("is missing"))
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                self.problem(name, _("must be a whole number, not {kind} {value}").format(
                    kind=json_type(value), value=quoted(value)))
                return None
        if value < 0:
            self.problem(name, _("must not be negative (got {value})").format(value=value))
            return None
        if value > MAX_INT32:
            self.problem(name, _("{value} is larger than the limit of {limit}").format(
                value=value, limit=i18n.number(MAX_INT32)))
            return None
        return value

    def timestamp(self, name: str, now: datetime, *, earliest: datetime | None = None,
                  too_old: str | None = None) -> datetime | None:
        """The moment in UTC, at most :data:`CLOCK_SKEW` after ``now`` and not before ``earliest``
        (default: the retention horizon before ``now``; ``too_old`` then says why, after the date)."""
        value = self.text(name, 64)
        if value is None:
            return None
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            self.problem(name, _("{value} is not an ISO 8601 timestamp such as 2025-03-01T09:30:00Z").format(
                value=quoted(value)))
            return None
        if moment.tzinfo is None:
            self.problem(name, _("{value} has no time zone; add one, e.g. Z for UTC").format(value=quoted(value)))
            return None
        if earliest is None:
            horizon = retention_horizon()
            earliest = now - horizon
            too_old = _("events older than {days} days (the catalog's longest retention) are refused").format(
                days=i18n.number(horizon.days))
        try:
            utc: datetime | None = moment.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+01:00, 9999-12-31T23:59-01:00: no UTC instant Python can hold
            utc = None
        if (utc is None and moment.year > now.year) or (utc is not None and utc > now + CLOCK_SKEW):
            self.problem(name, _("{value} is in the future (now is {now}; clocks may run at most {minutes} minutes "
                                 "ahead)").format(value=value, now=f"{now:%Y-%m-%dT%H:%M:%SZ}",
                                                  minutes=CLOCK_SKEW.seconds // 60))
            return None
        if utc is None or utc < earliest:
            self.problem(name, _("{value} is before {earliest} UTC; {why}").format(
                value=value, earliest=f"{earliest:%Y-%m-%d %H:%M}", why=too_old or _("that is too early")))
            return None
        return utc

    def unknown(self, known: Iterable[str]) -> None:
        extra = [k for k in self.obj if k not in known]
        if extra:
            self.problem(extra[0] if len(extra) == 1 else ", ".join(extra),
                         _("is not a known field") if len(extra) == 1 else _("are not known fields"))


def quoted(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
