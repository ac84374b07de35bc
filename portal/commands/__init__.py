"""Sub-commands of the ``portal`` command, one module per area; each has ``register(subparsers)``.

A command function takes ``(args, settings)`` and returns an exit code; it raises
:class:`CommandError` for problems the user can fix.
"""

import argparse
from collections.abc import Callable
from typing import Any

from portal.core import i18n
from portal.core.i18n import _


class CommandError(Exception):
    """A problem the user can fix; printed without a traceback, exit code 2."""


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1, with a message naming what was given."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(value))) from None
    if number < 1:
        raise argparse.ArgumentTypeError(_("must be at least 1 (got {value})").format(value=number))
    return number


def log_index(value: str) -> int:
    """An argparse type: a position in the access log, 0 up to the largest the databases store."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(value))) from None
    if not 0 <= number < 2**63:
        raise argparse.ArgumentTypeError(_("must be between 0 and {high} (got {value})").format(
            high=i18n.number(2**63 - 1), value=value))
    return number


def int_between(low: int, high: int, why: str = "") -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``; ``why`` (a phrase, translated) explains the bound
    in the message."""

    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(_("{value} is not a whole number").format(value=repr(value))) from None
        if not low <= number <= high:
            bounds = {"low": i18n.number(low), "high": i18n.number(high), "value": value}
            if why:
                raise argparse.ArgumentTypeError(_("must be from {low} to {high}, {why} (got {value})").format(
                    why=why, **bounds))
            raise argparse.ArgumentTypeError(_("must be from {low} to {high} (got {value})").format(**bounds))
        return number

    return parse


def not_utf8(args: argparse.Namespace) -> str | None:
    """The name of the first argument holding bytes that are not UTF-8, if any.

    Python keeps such bytes as lone surrogates, which no database, JSON or ZIP accepts.
    """
    for name, value in vars(args).items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return name
    return None


def with_services(settings: Any, work: Callable[[Any], int], errors: tuple[type[Exception], ...]) -> int:
    """Run ``work(services)`` on the portal's services; ``errors`` become :class:`CommandError` (exit 2)."""
    from portal import bootstrap

    services = bootstrap.build(settings)
    try:
        return work(services)
    except errors as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()


def max_problems_help(default: int) -> str:
    """The help of a ``--max-problems`` option."""
    return _("stop after this many problems (default {default})").format(default=default)
