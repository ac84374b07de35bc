"""``portal retention run``: delete records past their category's retention from the lake and its rollups."""

from __future__ import annotations

import argparse
import sys

from portal.core.i18n import _
from portal.core.settings import Settings


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap
    from portal.collection import retention

    services = bootstrap.build(settings)
    try:
        runs = retention.run_retention(services.engine, services.store,
                                       progress=lambda text: print(f"portal retention: {text}", file=sys.stderr))
    finally:
        services.engine.dispose()
    print(retention.describe(runs))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parent = subparsers.add_parser("retention", help=_("delete telemetry kept past its category's retention"))
    actions = parent.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help=_("delete every record older than its category's retention, in the lake and its rollups"),
        description=_("For every catalog category, delete the records whose time is older than now minus the "
                      "category's retention, vacuum the table and clean its Delta log (as erasure does), prune "
                      "and rebuild the rollups, and record the run (shown to the works council). Safe to run "
                      "again; run it daily, e.g. from cron."))
    run.set_defaults(func=_cmd_run)
