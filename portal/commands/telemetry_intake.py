"""``portal ingest telemetry --collector NAME FILE``: a registered collector's batch into the lake.

:func:`add_telemetry_parser` hangs the sub-command under ``portal ingest`` (see :mod:`portal.commands.ingest`).
"""

from __future__ import annotations

import argparse
import textwrap

from portal.commands import positive_int
from portal.core.i18n import N_, _
from portal.core.settings import Settings

#: The rules a batch file follows, a message per paragraph (translated where shown).
FORMAT_HELP = (
    N_("The file holds the rows of the collector's category: every column of its table (subject_id, the time\n"
       "column ts, then the category's own columns; `portal catalog show` lists them), no other. Parquet, CSV "
       "with a\nheader line, or JSON Lines, one object per line; told apart by content and by name (.parquet, "
       ".csv,\n.jsonl), or --format. Times are ISO 8601 with a UTC offset or Z (2026-03-02T09:30:00Z); a time "
       "without a\nzone is refused. Numbers must fit their column exactly (an int32 column refuses 3000000000 "
       "and 1.5).\nsubject_id is the employee id in the company's directory. A time may be at most 5 minutes "
       "ahead and no\nolder than the category's retention."),
    N_("All or nothing: one problem refuses the batch, naming the line (CSV, JSON Lines) or the row index from 0\n"
       "(Parquet) and the column. The same batch sent again is recognised and stored once. Rows of people who\n"
       "objected to every purpose the collector collects for are not stored, and counted."),
)


def _cmd_telemetry(args: argparse.Namespace, settings: Settings) -> int:
    from portal.collection import intake
    from portal.collection.intake_formats import BatchFileError
    from portal.collection.intake_problems import IntakeRejected
    from portal.commands import CommandError
    from portal.core import db
    from portal.lake.telemetry import TelemetryStore

    engine = db.make_engine(settings.resolved_database_url)
    store = TelemetryStore(settings)
    try:
        db.check_schema(engine)  # an unreachable or empty DB is said (exit 2) before the file is read
        if store.exists():
            store.check()  # a damaged lake is said before anything is read; a new one is made on first use
        report = intake.take_in(engine, store, args.collector, args.file, category_key=args.category,
                                fmt=args.format, max_problems=args.max_problems)
    except (intake.IntakeRefused, IntakeRejected, BatchFileError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    print(report.describe())
    return 0


def add_telemetry_parser(kinds: argparse._SubParsersAction) -> None:
    """``portal ingest telemetry``, under the ``portal ingest`` sub-commands ``kinds``."""
    from portal.collection.intake_formats import FORMATS
    from portal.collection.intake_problems import IntakeRejected

    parser = kinds.add_parser(
        "telemetry",
        help=_("a batch of telemetry from a collector the works council approved (Parquet, CSV, JSON Lines)"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=_("Take in a batch of telemetry from a collector on the register. Refused as a whole when the "
                      "collector is unknown, pending or suspended, or sends a category it is not registered for.")
                    + "\n\n" + "\n\n".join(_(paragraph) for paragraph in FORMAT_HELP) + "\n\n" + _("Examples:")
                    + textwrap.indent(textwrap.dedent("""
              portal ingest telemetry --collector endpoint-agent keystrokes-2026-12-07.parquet
              portal ingest telemetry --collector teamchat-export --category user.content.private.chat chat.jsonl"""),
                                      "  "))
    parser.add_argument("file", metavar="FILE", help=_("the batch: .parquet, .csv or .jsonl"))
    parser.add_argument("--collector", required=True, metavar="NAME", help=_("the collector's name on the register"))
    parser.add_argument("--category", metavar="KEY",
                        help=_("the category the batch holds (default: the one the collector is registered for; "
                               "any other is refused)"))
    parser.add_argument("--format", choices=FORMATS, help=_("the file's format (default: by content and name)"))
    parser.add_argument("--max-problems", type=positive_int, default=IntakeRejected.LISTED,
                        help=_("name at most this many problems, count the rest (default {default})").format(
                            default=IntakeRejected.LISTED))
    parser.set_defaults(func=_cmd_telemetry)
