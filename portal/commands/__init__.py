"""Sub-commands of the ``portal`` command, one module per area; each has ``register(subparsers)``.

A command function takes ``(args, settings)`` and returns an exit code; it raises
``portal.cli.CommandError`` for problems the user can fix.
"""
