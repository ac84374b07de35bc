"""The ``portal`` command: seeding, migrations and the local demo.

Every command prints a one-line error naming the problem and exits non-zero
on bad input; it never shows a traceback for a problem the user can fix.
"""

from __future__ import annotations

import argparse
from datetime import date
import importlib
import os
import sys
from collections.abc import Callable, Sequence

from portal.core import file_modes, i18n
from portal.core.i18n import _
from portal.bootstrap import BootstrapError
from portal.core.db import DatabaseError
from portal.demo.seed import DemoError
from portal.lake.telemetry import TelemetryError, TelemetryStore
from portal.core.settings import Settings, SettingsError, load_settings
from portal.core import catalog
from portal.core.catalog_file import CatalogError
from portal.commands import CommandError, int_between, not_utf8


# A demo company is for trying the portal and for benchmarks; the largest benchmark uses 5,000 people.
MAX_SEED_EMPLOYEES = 100_000


def _cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from portal.demo import seed as demo

    if not args.force and demo.data_present(settings):
        raise CommandError(
            _("{data_dir} already holds portal data; pass --force to replace it.").format(data_dir=settings.data_dir)
        )
    report = demo.seed(settings, employees=args.employees, days=args.days, seed=args.seed,
                       progress=demo.print_progress, replace=args.force, end_date=args.end_date)
    print(report.describe())
    return 0


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("{value} is not a day such as 2026-11-27").format(value=repr(value))) from None


def _cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    from portal.core import db

    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    with engine.begin() as conn:
        catalog.sync(conn)
    print(_("Metadata DB at {url} is up to date.").format(url=engine.url.render_as_string(hide_password=True)))
    store = TelemetryStore(settings)
    if store.exists():
        before = {c.table_name for c in catalog.CATEGORIES if store.has_table(c.table_name)}
        store.create()  # a table for every category the catalog has declared since
        added = sorted({c.table_name for c in catalog.CATEGORIES} - before)
        if added:
            print(_("Created empty telemetry table(s) for newly declared categories: {tables}.").format(
                tables=", ".join(added)))
    return 0


def _cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from portal.demo import devserver

    try:
        return devserver.run(settings, port=args.port, provider_port=args.provider_port, mail_port=args.mail_port)
    except devserver.DevServerError as exc:  # a port in use, a server that would not start: said, not traced
        raise CommandError(str(exc)) from None


# Modules under portal/commands that add their own sub-commands through register(subparsers).
COMMAND_MODULES: tuple[str, ...] = (
    "catalog", "ingest", "export", "aggregates", "exposure", "audit", "requests", "privacy", "collectors",
    "lake", "retention", "engines", "notify",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="portal", description=_("Employee telemetry transparency portal."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"portal.commands.{name}").register(sub)

    try:
        longest = catalog.LONGEST_RETENTION_DAYS
    except CatalogError:  # the settings say what is wrong with the catalog when the command runs
        longest = 36_500
    seed = sub.add_parser("seed", help=_("generate a synthetic company's telemetry into PORTAL_DATA_DIR"))
    seed.add_argument("--employees", type=int_between(1, MAX_SEED_EMPLOYEES), default=300,
                      help=_("number of employees (default 300, at most {most})").format(
                          most=i18n.number(MAX_SEED_EMPLOYEES)))
    seed.add_argument("--days", type=int_between(1, longest, _("the catalog's longest retention")),
                      default=90, help=_("days of history (default 90, at most {most}: the catalog's longest "
                                         "retention)").format(most=i18n.number(longest)))
    seed.add_argument("--seed", type=int_between(0, 2**63 - 1), default=42,
                      help=_("random seed, 0 or more; same seed, same data (default 42)"))
    seed.add_argument("--force", action="store_true", help=_("replace data already in the data directory"))
    seed.add_argument("--end-date", type=_day, default=None,
                      help=_("the last day of the history, YYYY-MM-DD (default: today, UTC), so that the demo's "
                             "requests and deadlines are as recent as its data"))
    seed.set_defaults(func=_cmd_seed)

    migrate = sub.add_parser("migrate", help=_("create or upgrade the metadata DB schema"))
    migrate.set_defaults(func=_cmd_migrate)

    demo = sub.add_parser("demo", help=_("start the local OIDC provider and the portal (Ctrl-C stops both)"))
    demo.add_argument("--port", type=int_between(1, 65535), default=8501,
                      help=_("port of the portal (default 8501)"))
    demo.add_argument("--provider-port", type=int_between(1, 65535), default=9400,
                      help=_("port of the local OIDC provider (default 9400)"))
    demo.add_argument("--mail-port", type=int_between(1, 65535), default=8025,
                      help=_("port of the demo mailbox, which shows the e-mails the portal sends (default 8025)"))
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in the language of the environment (PORTAL_LANGUAGE, else the locale's if the portal
    speaks it, else English); a caller in the same process gets its own language back afterwards."""
    try:
        language = i18n.from_environment(os.environ)
    except i18n.LanguageError as exc:
        print(f"portal: PORTAL_LANGUAGE: {exc}", file=sys.stderr)
        return 2
    with i18n.in_language(language):
        return _run(argv)


def _run(argv: Sequence[str] | None) -> int:
    # Every file a command writes (lake, DB, copies, keys, receipts) is owner-only, whatever the umask.
    file_modes.restrict_process()
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace, Settings], int] = args.func
    garbled = not_utf8(args)
    if garbled is not None:
        print(_("portal {command}: {argument}: is not valid UTF-8 text").format(
            command=args.command, argument=garbled.replace("_", " ")), file=sys.stderr)
        return 2
    try:
        settings = load_settings()
        return func(args, settings)
    except (CommandError, SettingsError, BootstrapError, DatabaseError, TelemetryError, DemoError, CatalogError) as exc:
        print(f"portal {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
