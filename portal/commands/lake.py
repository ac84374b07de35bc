"""``portal lake check``: the telemetry tables against the lake's contract, then their rollups.

Exit 0 when every table conforms (notes allowed), 2 when a table has a problem (or, with ``--strict``, a
note), with the report saying what and where.
"""

from __future__ import annotations

import argparse
import sys

from portal.core.i18n import _
from portal.core.settings import Settings


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    import sqlalchemy as sa

    from portal import bootstrap
    from portal.collection import lake_check
    from portal.commands import CommandError
    from portal.core import db

    services = bootstrap.build(settings)
    try:
        with services.engine.connect() as conn:
            known = set(conn.execute(sa.select(db.employees.c.employee_id)).scalars())
        report = lake_check.check_lake(services.store, known, strict=args.strict, rollups=not args.no_rollups,
                                       progress=lambda text: print(f"portal lake check: {text}", file=sys.stderr))
    except ValueError as exc:  # the lake's layout or a rollup store that cannot be used
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    print(report.describe())
    if report.failed:
        print(_("portal lake check: the lake does not conform to its contract (docs/telemetry-intake.md)"),
              file=sys.stderr)
        return 2
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    lake = subparsers.add_parser("lake", help=_("the telemetry lake: check tables that outside engines write"))
    commands = lake.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = commands.add_parser(
        "check", help=_("check every telemetry table against the lake's contract, then bring the rollups up to "
                        "date"),
        description=_("Check every catalog table of the lake, whoever wrote it (intake, Spark, Flink, another "
                      "delta-rs writer): schema, bucket partitioning, sort order, row groups, reader features, "
                      "subjects known to the directory. Problems (exit 2) make the portal read wrong rows or hide "
                      "data; notes make it slower. The contract: docs/telemetry-intake.md."))
    check.add_argument("--strict", action="store_true",
                       help=_("count notes (sort order, row group size, statistics) as problems: for a new writer"))
    check.add_argument("--no-rollups", action="store_true",
                       help=_("check only; do not bring the rollups up to date"))
    check.set_defaults(func=_cmd_check)
