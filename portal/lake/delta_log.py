"""The Delta transaction log of a telemetry table: kept free of erased people, and searched for them.

Deleting a person's rows and vacuuming removes the data files that held them,
but the log (``<table>/_delta_log``) still names the person: every ``add``
action carries per-file statistics whose ``subject_id`` minimum or maximum is
the person when they sorted first or last in a file, and the delete commit
records its predicate (``subject_id = '<id>'``). Delta keeps those entries for
``delta.logRetentionDuration`` (30 days by default).

:func:`clean` therefore ends each erasure with a log that holds nothing older
than the current version: a checkpoint of that version (the live files only;
their statistics cannot name the person, whose rows they no longer hold), the
version's own commit (a vacuum's or a table-property commit, never the
delete's) and ``_last_checkpoint``. Every table carries :data:`NO_HISTORY` (from
its creation, or from its first erasure for an older lake), so delta-rs's
``cleanup_metadata`` removes every entry before that checkpoint and checkpoints
leave out the tombstones of removed files; older versions cannot be loaded any
more, which is intended, since they held the person. Readers that list the log
just before a cleanup may find an entry gone and must load the table again.

:func:`files_naming` is what verification checks: every file under
``_delta_log`` (commits, checkpoints in any part, leftovers of interrupted
writers), decoded, for the subject id as a whole value (a statistic, a
partition value) or a quoted SQL literal (a predicate). Substrings do not
count, so erasing ``E1`` is not confused with ``E10`` still bounding a file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from deltalake import DeltaTable

from portal.core.i18n import _
from portal.core.lake_location import LakeLocation

LOG_DIR = "_delta_log"
# Table properties of every telemetry table: no log entry and no tombstone outlives the latest checkpoint.
NO_HISTORY = {"delta.logRetentionDuration": "interval 0 seconds",
              "delta.deletedFileRetentionDuration": "interval 0 seconds"}
_VERSIONED = re.compile(r"^(\d{20})\.")
# Characters a JSON writer may escape; an id without them appears verbatim in the log's bytes.
_JSON_ESCAPED = re.compile(r'["\\/\x00-\x1f\x7f-\U0010ffff]')


class LogError(ValueError):
    """A log file that cannot be read; the message names it."""


def clean(table: DeltaTable, location: LakeLocation, table_name: str, subject_id: str) -> int:
    """Leave only the current version's checkpoint and commit in the log; return the entries removed.

    Run under the table's write lock, after the delete and the vacuum, so no
    commit lands between the checkpoint and the cleanup.
    """
    before = set(location.names(table_name, LOG_DIR))
    configured = table.metadata().configuration
    head = [f"{table.version():020d}{suffix}" for suffix in (".json", ".checkpoint.parquet")]
    if any(configured.get(k) != v for k, v in NO_HISTORY.items()) or any(
            name in before and _file_names(location, location.path(table_name, LOG_DIR, name), subject_id)
            for name in head):
        # Also a commit that names nobody, for the checkpoint to sit on when the delete was the last one.
        table.alter.set_table_properties(NO_HISTORY)
    version = table.version()
    if not location.exists(table_name, LOG_DIR, f"{version:020d}.checkpoint.parquet"):
        table.create_checkpoint()
    table.cleanup_metadata()
    # What cleanup_metadata keeps (a file dated in the future by a skewed clock, a crashed writer's
    # temporary commit) goes by name: nothing before the checkpoint is read again.
    for name in location.names(table_name, LOG_DIR):
        match = _VERSIONED.match(name)
        if (match and int(match.group(1)) < version) or name.endswith(".tmp"):
            location.delete(location.path(table_name, LOG_DIR, name))
    return len(before - set(location.names(table_name, LOG_DIR)))


def files_naming(location: LakeLocation, table_name: str, subject_id: str) -> tuple[int, tuple[str, ...]]:
    """Files scanned under ``_delta_log`` and those that name the subject (paths relative to the table)."""
    if not subject_id:
        raise LogError(_("an empty subject id names nobody; nothing to search the log for"))
    scanned, naming = 0, []
    for entry in location.files(table_name, LOG_DIR):
        scanned += 1
        if _file_names(location, entry.path, subject_id):
            naming.append(f"{LOG_DIR}/{entry.relative}")
    return scanned, tuple(naming)


def _file_names(location: LakeLocation, path: str, subject_id: str) -> bool:
    if path.endswith(".parquet"):
        return _parquet_names(location, path, subject_id)
    try:
        with location.fs.open_input_stream(path) as stream:
            data = bytes(stream.read())
    except OSError as exc:
        raise LogError(_("the log file {path} is unreadable ({why})").format(path=path, why=exc.strerror or exc)) from None
    plain = not _JSON_ESCAPED.search(subject_id)
    needle = subject_id.encode("utf-8")
    if plain and needle not in data:
        return False
    for line in data.splitlines():
        if plain and needle not in line:
            continue
        try:
            action = json.loads(line)
        except ValueError:
            # Not JSON (damaged or foreign): any occurrence counts, better a false alarm than a miss.
            if needle in line:
                return True
            continue
        if _names(action, subject_id):
            return True
    return False


def _parquet_names(location: LakeLocation, path: str, subject_id: str) -> bool:
    try:
        source = path if location.is_local else location.fs.open_input_file(path)
        with pq.ParquetFile(source) as parquet:  # not pq.read_table: its first call imports the dataset module
            table = parquet.read(use_threads=False)
    except (OSError, pa.ArrowException) as exc:
        raise LogError(_("the log file {path} is unreadable ({why})").format(
            path=path, why=str(exc).splitlines()[0][:200])) from None
    plain = not _JSON_ESCAPED.search(subject_id)
    for column in table.columns:
        for chunk in column.chunks:
            for strings in _string_leaves(chunk):
                if plain:  # only values that hold the id at all are decoded and looked at closely
                    strings = strings.filter(pc.match_substring(strings, subject_id))  # nulls dropped
                if any(_text_names(s, subject_id) for s in strings.to_pylist() if s is not None):
                    return True
    return False


def _string_leaves(array: pa.Array) -> Iterator[pa.Array]:
    """Every string array nested in ``array`` (struct fields, list elements, map keys and values)."""
    kind = array.type
    if pa.types.is_struct(kind):
        for child in array.flatten():
            yield from _string_leaves(child)
    elif pa.types.is_map(kind):
        yield from _string_leaves(array.keys)
        yield from _string_leaves(array.items)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind):
        yield from _string_leaves(array.flatten())
    elif pa.types.is_dictionary(kind):
        yield from _string_leaves(array.dictionary)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        yield array


def _names(value: Any, subject_id: str) -> bool:
    if isinstance(value, str):
        return _text_names(value, subject_id)
    if isinstance(value, dict):
        return any(_names(k, subject_id) or _names(v, subject_id) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_names(v, subject_id) for v in value)
    return False


def _text_names(text: str, subject_id: str) -> bool:
    """A whole value, a quoted SQL literal (a predicate), or either inside JSON held as text (``stats``)."""
    if text == subject_id or "'" + subject_id.replace("'", "''") + "'" in text:
        return True
    if text[:1] in ("{", "["):
        try:
            return _names(json.loads(text), subject_id)
        except ValueError:
            return False
    return False
