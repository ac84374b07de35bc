"""Files named on the command line, read within a size limit whatever they are.

A path may name a directory, a file nobody may read, a pipe or a character
device such as ``/dev/zero``, whose ``stat`` size is 0 however much it yields.
Every reader here opens the path once, refuses what is not a file, and counts
bytes while reading, so a stream ends at the limit instead of filling memory.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from portal.core import i18n
from portal.core.i18n import N_, _


class InputFileError(ValueError):
    """A named file cannot be used; the message names it and says why."""


def open_input(path: str | os.PathLike, what: str = N_("the file")) -> BinaryIO:
    """The file opened for binary reading; :class:`InputFileError` for a directory or an unreadable path.

    ``what`` names the file in the message: English, marked with ``N_`` and translated here."""
    try:
        handle = open(path, "rb")  # noqa: SIM115 - the caller closes it
    except IsADirectoryError:
        raise InputFileError(_("{what} {path} is a directory, not a file").format(what=_(what), path=path)) from None
    except OSError as exc:
        raise InputFileError(_("cannot read {what} {path}: {why}").format(
            what=_(what), path=path, why=exc.strerror or exc)) from None
    if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):  # some systems open directories read-only
        handle.close()
        raise InputFileError(_("{what} {path} is a directory, not a file").format(what=_(what), path=path))
    return handle


def regular_size(handle: BinaryIO) -> int | None:
    """The size of a regular file; None for a pipe or device, whose size is only known by reading it."""
    info = os.fstat(handle.fileno())
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def too_big(path: str | os.PathLike, what: str, limit: int, size: int | None = None) -> InputFileError:
    if size is None:
        return InputFileError(_("{what} {path} holds more than the limit of {limit} bytes").format(
            what=_(what), path=path, limit=i18n.number(limit)))
    return InputFileError(_("{what} {path} is {size} bytes, more than the limit of {limit} bytes").format(
        what=_(what), path=path, size=i18n.number(size), limit=i18n.number(limit)))


def read_bytes(path: str | os.PathLike, max_bytes: int, what: str = N_("the file")) -> bytes:
    """All of the file, or :class:`InputFileError` when it is not a readable file of at most ``max_bytes``."""
    with open_input(path, what) as handle:
        size = regular_size(handle)
        if size is not None and size > max_bytes:
            raise too_big(path, what, max_bytes, size)
        try:
            data = handle.read(max_bytes + 1)
        except OSError as exc:
            raise InputFileError(_("cannot read {what} {path}: {why}").format(
                what=_(what), path=path, why=exc.strerror or exc)) from None
    if len(data) > max_bytes:
        raise too_big(path, what, max_bytes)
    return data


def read_text(path: str | os.PathLike, max_bytes: int, what: str = N_("the file")) -> str:
    """:func:`read_bytes` decoded as UTF-8."""
    data = read_bytes(path, max_bytes, what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(_("{what} {path} is not UTF-8 text (byte {byte})").format(
            what=_(what), path=path, byte=exc.start + 1)) from None


def check_output(path: str | os.PathLike, what: str = N_("the output file")) -> Path:
    """The path to write, refused early when it is a directory or its folder does not exist."""
    out = Path(path)
    if out.is_dir():
        raise InputFileError(_("{what} {path} is a directory; name a file").format(what=_(what), path=out))
    if not out.parent.is_dir():
        raise InputFileError(_("cannot write {what} {path}: the folder {folder} does not exist").format(
            what=_(what), path=out, folder=out.parent))
    return out
