"""JSON from outside the portal (ingest lines, receipts, proof bundles), read within limits.

Python's decoder recurses once per nesting level, so a line of 8,000 ``[`` ends in
a ``RecursionError``, and a number of 5,000 digits in a ``ValueError`` that is not
a ``JSONDecodeError``. :func:`loads` turns every way a text can fail into one
:class:`JsonInputError` whose message names what is wrong, so callers report it
like any other problem of their input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from typing import Any

from portal.core.i18n import _

# Nothing the portal reads nests deeper than about ten levels (an OpenLineage schema facet);
# 64 leaves room for producers' extensions and stays far below Python's recursion limit.
MAX_DEPTH = 64

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class JsonInputError(ValueError):
    """Text that is not JSON the portal reads. ``str()`` is a phrase to follow a name ("line 3: is not JSON
    (...)"); ``reason`` is what went wrong on its own ("Expecting value at column 5")."""

    def __init__(self, phrase: str, reason: str) -> None:
        self.reason = reason
        super().__init__(phrase)


class NotJson(JsonInputError):
    """The text is not JSON at all (or holds a number Python refuses to convert)."""

    def __init__(self, reason: str) -> None:
        super().__init__(_("is not JSON ({reason})").format(reason=reason), reason)


class JsonTooDeep(JsonInputError):
    """The text nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        reason = _("nested more than {limit} levels deep; the portal reads JSON of at most {limit} levels").format(
            limit=limit)
        super().__init__(_("is {reason}").format(reason=reason), reason)


def depth(text: str) -> int:
    """How deeply ``text`` nests arrays and objects (brackets inside strings do not count)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH,
          object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None) -> Any:
    """``json.loads`` that raises only :class:`JsonInputError` for bad text (and whatever the hook raises)."""
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")  # as json.loads reads bytes
        except UnicodeDecodeError as exc:
            raise NotJson(_("not UTF-8 text, byte {byte}").format(byte=exc.start + 1)) from None
    # Counting brackets is C-speed; only a text with more brackets than the limit needs the exact depth.
    if text.count("[") + text.count("{") > max_depth and depth(text) > max_depth:
        raise JsonTooDeep(max_depth)
    try:
        return json.loads(text, object_pairs_hook=object_pairs_hook)
    except json.JSONDecodeError as exc:
        where = (_("column {column}").format(column=exc.colno) if exc.lineno == 1
                 else _("line {line}, column {column}").format(line=exc.lineno, column=exc.colno))
        raise NotJson(_("{why} at {where}").format(why=exc.msg, where=where)) from None
    except RecursionError:  # a hook building deep values; the depth check above makes this rare
        raise JsonTooDeep(max_depth) from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        if type(exc) is not ValueError:  # the hook's own error (a duplicate key, say) says it better
            raise
        message = str(exc).splitlines()[0][:120]
        raise NotJson(_("it holds a number of more digits than the portal reads") if "digits" in message
                      else message) from None
