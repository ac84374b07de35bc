"""Reading a telemetry batch: Parquet, CSV or JSON Lines, told apart by content and name.

Parquet starts (and ends) with ``PAR1``; JSON Lines holds one JSON object per line; CSV has a header line
naming the columns. A name ending in ``.parquet``/``.pq``, ``.csv`` or ``.jsonl``/``.ndjson``/``.json`` says
which is meant; otherwise the content decides, and a file that is none of the three is refused with what is
expected. ``--format`` overrides both.

Every reader gives a :class:`Batch`: the rows as a polars frame in the file's order (CSV: every column as
text; JSON Lines: the catalog's types where the file agrees), each row tagged with its index (:data:`ROW`),
and a way to say where a row is in the file: its line (CSV, JSON Lines) or its row index from 0 (Parquet).
Finding a line costs a pass over the file, so it is done only for the rows a refusal names.

The happy path is columnar (polars, Arrow): no Python loop per row. When the JSON Lines reader refuses the
file, a line-by-line pass finds what is wrong, line by line.
"""

from __future__ import annotations

import csv
import json
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.json as pa_json

from portal.collection.intake_problems import IntakeRejected, Problem
from portal.core import i18n, json_input
from portal.core.i18n import N_, _

FORMATS = ("parquet", "csv", "jsonl")
EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl",
              ".json": "jsonl"}
EXPECTED = N_("Parquet (.parquet), CSV with a header line (.csv) or JSON Lines, one object per line (.jsonl)")
MAX_FILE_BYTES = 2 * 1024**3  # a batch larger than this is split by the collector
ROW = "__row"  # the row's index in the file, carried through validation
_SNIFF = 64 * 1024


class BatchFileError(ValueError):
    """The file cannot be read as a batch; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Batch:
    path: Path
    fmt: str
    frame: pl.DataFrame  # the file's columns and ROW
    locate: Callable[[list[int]], dict[int, str]]  # row indices -> "line 12" / "row index 3"

    @property
    def rows(self) -> int:
        return self.frame.height


def read_batch(path: str | os.PathLike, fmt: str | None = None,
               schema: pa.Schema | None = None) -> Batch:
    """The rows of ``path``; ``schema`` (the table's columns) lets JSON Lines read typed values directly."""
    path = Path(path)
    head = _head(path)
    fmt = detect(path, head, fmt)
    if fmt == "parquet":
        return _parquet(path)
    if fmt == "csv":
        return _csv(path)
    return _jsonl(path, schema)


def _head(path: Path) -> bytes:
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BatchFileError(_("cannot read {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise BatchFileError(_("{path} is a directory, not a file").format(path=path))
    if not stat.S_ISREG(info.st_mode):
        raise BatchFileError(_("{path} is not a regular file (a pipe or a device); write the batch to a file first").format(
            path=path))
    if info.st_size > MAX_FILE_BYTES:
        raise BatchFileError(_("{path} is {size} bytes, more than the limit of {limit} bytes; split the batch into "
                               "smaller files").format(path=path, size=i18n.number(info.st_size),
                                                       limit=i18n.number(MAX_FILE_BYTES)))
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF)
    except OSError as exc:
        raise BatchFileError(_("cannot read {path}: {why}").format(path=path, why=exc.strerror or exc)) from None
    if not head.strip():
        raise BatchFileError(_("{path} is empty; expected {expected}").format(path=path, expected=_(EXPECTED)))
    return head


def detect(path: Path, head: bytes, fmt: str | None = None) -> str:
    """The format of a file: ``fmt`` when given, else its content and name; refused with what is expected."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise BatchFileError(_("unknown format {format}; choose one of {formats}").format(
                format=repr(fmt), formats=", ".join(FORMATS)))
        if (fmt == "parquet") != (head[:4] == b"PAR1"):
            what = (_("{path} is not a Parquet file (it does not start with PAR1), but --format {format} was given")
                    if fmt == "parquet" else _("{path} is a Parquet file, but --format {format} was given"))
            raise BatchFileError(what.format(path=path, format=fmt))
        return fmt
    named = EXTENSIONS.get(path.suffix.lower())
    if head[:4] == b"PAR1":
        return "parquet"
    if named == "parquet":
        raise BatchFileError(_("{path} is named like a Parquet file but is not one (it does not start with PAR1)").format(
            path=path))
    if b"\x00" in head:
        raise BatchFileError(_("{path} holds binary data but is not Parquet; expected {expected}").format(
            path=path, expected=_(EXPECTED)))
    if named is not None:
        return named
    first = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if first[:1] == b"{":
        return "jsonl"
    line = first.split(b"\n", 1)[0]
    if b"," in line and b"subject_id" in line:
        return "csv"
    raise BatchFileError(_("cannot tell what {path} holds; expected {expected}. Name the file with one of those "
                           "endings or pass --format").format(path=path, expected=_(EXPECTED)))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


# ---- Parquet -------------------------------------------------------------------------------------


def _parquet(path: Path) -> Batch:
    try:
        frame = pl.read_parquet(path, hive_partitioning=False)
    except (pl.exceptions.PolarsError, OSError, pa.ArrowException) as exc:
        raise BatchFileError(_("{path} is not a readable Parquet file: {why}").format(
            path=path, why=_first_line(exc))) from None
    return Batch(path, "parquet", frame.with_row_index(ROW), lambda rows: {r: _("row index {row}").format(row=r) for r in rows})


# ---- CSV -------------------------------------------------------------------------------------------


def _csv(path: Path) -> Batch:
    header = _csv_header(path)
    try:
        frame = pl.read_csv(path, infer_schema=False, has_header=True, raise_if_empty=True)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise BatchFileError(_csv_problem(path, len(header)) or
                             _("{path} is not readable CSV: {why}").format(path=path, why=_first_line(exc))) from None
    frame = frame.rename(dict(zip(frame.columns, header, strict=True))).with_row_index(ROW)
    # A blank line is no record (polars reads it as a row of nothing).
    frame = frame.filter(~pl.all_horizontal(pl.exclude(ROW).is_null()))
    return Batch(path, "csv", frame, lambda rows: _csv_lines(path, rows))


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, "rb") as handle:
            first = handle.readline()
        names = next(csv.reader([first.decode("utf-8").removeprefix("\ufeff")]), [])
    except UnicodeDecodeError as exc:
        raise BatchFileError(_("{path} line {line}: is not valid UTF-8 (byte {byte})").format(
            path=path, line=1, byte=exc.start + 1)) from None
    except (OSError, csv.Error) as exc:
        raise BatchFileError(_("{path} line 1: the header line is not readable CSV ({why})").format(
            path=path, why=exc)) from None
    names = [n.strip() for n in names]
    if not names or not any(names):
        raise BatchFileError(_("{path} line 1: expected a header line naming the columns (subject_id, ts, ...)").format(
            path=path))
    blank = [str(i) for i, n in enumerate(names, 1) if not n]
    dupes = sorted({n for n in names if n and names.count(n) > 1})
    if blank or dupes:
        what = (_("{path} line 1: the header line column(s) {columns} have no name") if blank
                else _("{path} line 1: the header line names {columns} more than once"))
        raise BatchFileError(what.format(path=path, columns=", ".join(blank or dupes)))
    return names


def _csv_records(path: Path) -> Iterable[tuple[int, list[str]]]:
    """(first line, fields) of every record after the header; blank lines are records of no field."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        for fields in reader:
            yield start, fields
            start = reader.line_num + 1


def _csv_lines(path: Path, rows: list[int]) -> dict[int, str]:
    wanted, found = set(rows), {}
    last = max(wanted, default=-1)
    for index, (line, _fields) in enumerate(_csv_records(path)):
        if index in wanted:
            found[index] = _("line {line}").format(line=line)
        if index >= last:
            break
    return found


def _csv_problem(path: Path, columns: int) -> str | None:
    """What the CSV reader refused, with its line: bad UTF-8, or a record with the wrong number of fields."""
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    return _("{path} line {line}: is not valid UTF-8 (byte {byte})").format(
                        path=path, line=number, byte=exc.start + 1)
        for line, fields in _csv_records(path):
            if fields and len(fields) != columns:
                return _("{path} line {line}: has {fields} field(s) where the header line names {columns}; quote "
                         "fields that hold commas").format(path=path, line=line, fields=len(fields), columns=columns)
    except (OSError, csv.Error) as exc:
        return _("{path} is not readable CSV ({why})").format(path=path, why=exc)
    return None


# ---- JSON Lines -------------------------------------------------------------------------------------

# How JSON Lines holds each column type: what the Arrow reader is told, and the JSON kinds a value may have.
_JSON_READ = {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "time": pa.string()}
_JSON_KINDS: dict[str, tuple[type, ...]] = {"string": (str,), "int": (int, float), "float": (int, float),
                                            "bool": (bool,), "time": (str,)}
_JSON_WORDS = {"string": N_("text"), "int": N_("a whole number"), "float": N_("a number"), "bool": N_("true or false"),
               "time": N_("an ISO 8601 timestamp string such as 2026-03-02T09:30:00Z")}


def _kind(kind: pa.DataType) -> str:
    if pa.types.is_timestamp(kind):
        return "time"
    if pa.types.is_boolean(kind):
        return "bool"
    if pa.types.is_integer(kind):
        return "int"
    if pa.types.is_floating(kind):
        return "float"
    return "string"


def _jsonl(path: Path, schema: pa.Schema | None) -> Batch:
    kinds = {f.name: _kind(f.type) for f in schema} if schema is not None else {}
    explicit = pa.schema([(name, _JSON_READ[kind]) for name, kind in kinds.items()])
    options = pa_json.ParseOptions(explicit_schema=explicit, unexpected_field_behavior="infer")
    try:
        table = pa_json.read_json(path, read_options=pa_json.ReadOptions(block_size=16 << 20),
                                  parse_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        table = _jsonl_by_line(path, kinds, _first_line(exc))
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a table gives a frame
    return Batch(path, "jsonl", frame.with_row_index(ROW), lambda rows: _jsonl_lines(path, rows))


def _jsonl_lines(path: Path, rows: list[int]) -> dict[int, str]:
    wanted, found = set(rows), {}
    last, index = max(wanted, default=-1), -1
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            index += 1
            if index in wanted:
                found[index] = _("line {line}").format(line=number)
            if index >= last:
                break
    return found


def _jsonl_by_line(path: Path, kinds: dict[str, str], why: str) -> pa.Table:
    """Read the file line by line after the columnar reader refused it: every problem named by line and
    field, or, when each line is sound (numbers 3 and 3.0 mixed in one column), the rows as a table."""
    problems: list[Problem] = []
    records: list[dict] = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            found = _json_line(number, raw, kinds, problems)
            if found is not None:
                records.append(found)
    if problems:
        raise IntakeRejected(str(path), problems[:IntakeRejected.LISTED], len(problems))
    names = list(dict.fromkeys(k for r in records for k in r))
    try:
        return pa.table({n: pa.array([r.get(n) for r in records]) for n in names})
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BatchFileError(_("{path} is not readable JSON Lines ({why}; {detail})").format(
            path=path, why=why, detail=_first_line(exc))) from None


def _json_line(number: int, raw: bytes, kinds: dict[str, str], problems: list[Problem]) -> dict | None:
    where = _("line {line}").format(line=number)
    try:
        value = json_input.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(Problem(where, None, _("is not valid UTF-8 (byte {byte})").format(byte=exc.start + 1)))
        return None
    except json_input.JsonInputError as exc:
        problems.append(Problem(where, None, str(exc)))
        return None
    if not isinstance(value, dict):
        problems.append(Problem(where, None, _("must be a JSON object, not {kind}").format(kind=_json_type(value))))
        return None
    sound = True
    for name, item in value.items():
        kind = kinds.get(name)
        if item is None or kind is None:
            continue
        allowed = _JSON_KINDS[kind]
        if isinstance(item, bool) and bool not in allowed or not isinstance(item, allowed):
            problems.append(Problem(where, name, _("must be {expected}, not {kind} {value}").format(
                expected=_(_JSON_WORDS[kind]), kind=_json_type(item), value=_short(item))))
            sound = False
    return value if sound else None


def _json_type(value: object) -> str:
    words = {dict: N_("an object"), list: N_("a list"), str: N_("text"), bool: N_("true/false"), type(None): "null",
             int: N_("a number"), float: N_("a number")}
    word = words.get(type(value))
    return _(word) if word and word != "null" else word or type(value).__name__


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."

