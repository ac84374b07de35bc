"""``portal notify run``: tell people about reads of their data, their requests and collectors of their data."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from portal.commands import CommandError
from portal.core.i18n import _
from portal.core.settings import Settings


def _moment(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not an ISO 8601 time such as 2026-12-07T09:00:00Z").format(
            value=repr(value))) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap, notify
    from portal.notify.run import holders_in

    services = bootstrap.build(settings)
    try:
        report = notify.run(services.engine, settings, holders=holders_in(services.store), now=args.now,
                            email=not args.no_email)
    except notify.MailError as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    print(report.describe())
    return 1 if report.failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parent = subparsers.add_parser("notify", help=_("tell people about reads of their data and their requests"))
    actions = parent.add_subparsers(dest="action", required=True, metavar="ACTION")
    run = actions.add_parser(
        "run", help=_("create the notices there are and send the unsent ones by e-mail"),
        description=_("Creates a notice for every flagged read and every privacy-office lookup since the last "
                      "run, every change of a request, every decision on a collector of a person's data, and the "
                      "digest of the last day or week (each person's choice); then sends every unsent notice "
                      "through PORTAL_SMTP_URL. Each notice is created and sent once, however often it runs; "
                      "run it every few minutes, e.g. from cron. Exit 1 when an e-mail could not be sent "
                      "(it is retried next run)."))
    run.add_argument("--now", type=_moment, default=None,
                     help=_("the time to run as, ISO 8601 (default: now); the digests are of the periods before it"))
    run.add_argument("--no-email", action="store_true", help=_("create notices but send no e-mail this run"))
    run.set_defaults(func=_cmd_run)
