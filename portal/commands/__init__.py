"""Sub-commands of the ``portal`` command, one module per area; each has ``register(subparsers)``.

A command function takes ``(args, settings)`` and returns an exit code; it raises
``portal.cli.CommandError`` for problems the user can fix.
"""

import argparse


def positive_int(value: str) -> int:
    """An argparse type: a whole number of at least 1, with a message naming what was given."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {number})")
    return number
