"""``portal exposure`` and the grants import (``portal ingest grants FILE``).

:func:`configure_ingest_grants` and :func:`run_ingest_grants` hang under
``portal ingest grants FILE`` (see :mod:`portal.commands.ingest`).
"""

from __future__ import annotations

import argparse
import json

from portal.core import line_input
from portal.core.i18n import _
from portal.core.settings import Settings
from portal.commands import max_problems_help, positive_int


def configure_ingest_grants(parser: argparse.ArgumentParser) -> None:
    """Arguments of the grants import, on a parser the caller created."""
    from portal.council import grants

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = _("Import grants (who can read which telemetry category) from JSON Lines or CSV. Every "
                           "problem is reported with its line and field; any problem means nothing is written; "
                           "importing the same grants again adds nothing.") + "\n\n" + grants.GRANT_FORMAT
    parser.add_argument("file", metavar="FILE", help=_("grants as .jsonl or .csv"))
    parser.add_argument("--format", default="auto", choices=("auto", "jsonl", "csv"),
                        help=_("input format; auto (default) reads .csv files as CSV and anything else as JSON Lines"))
    parser.add_argument("--max-problems", type=positive_int, default=line_input.MAX_PROBLEMS,
                        help=max_problems_help(line_input.MAX_PROBLEMS))


def run_ingest_grants(args: argparse.Namespace, settings: Settings) -> int:
    from portal.council import grants
    from portal.commands import CommandError

    engine = _engine(settings)
    try:
        report = grants.ingest_grants(engine, args.file, fmt=args.format, max_problems=args.max_problems)
    except line_input.IngestRejected as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    print(report.describe())
    return 0


def _cmd_exposure(args: argparse.Namespace, settings: Settings) -> int:
    from portal.council import exposure
    from portal.commands import CommandError

    engine = _engine(settings)
    try:
        report = exposure.exposure_report(settings, engine)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    if args.format == "json":
        out = [{"category": c.key, "name": c.name, "allowed_roles": list(c.allowed_roles),
                "max_principals": c.max_principals, "limit_set_by": c.limit_set_by, "can_read_now": c.can_read_now,
                "peak_can_read": c.peak_can_read, "peak_readers": c.peak_readers,
                "peak_week": c.peak_week.isoformat() if c.peak_week else None,
                "weeks_over_max": [w.isoformat() for w in c.weeks_over_max],
                "readers_outside_allowed_roles": c.outside_readers,
                "scoped_roles": [{"role": s.role, "only": s.relation, "readers_per_person": s.readers_per_person,
                                  "people_per_reader": s.people_per_reader} for s in c.scoped_roles],
                "scoped_can_read_now": c.scoped_can_read_now, "peak_scoped_readers": c.peak_scoped_readers,
                "scoped_weeks_over": [w.isoformat() for w in c.scoped_weeks_over], "verdict": c.verdict,
                "violations": [{"serious": v.serious, "text": v.text} for v in c.violations]}
               for c in report.categories]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    for c in report.categories:
        figures = {"name": c.name, "verdict": _(c.verdict), "most": c.max_principals, "now": c.can_read_now,
                   "peak": c.peak_readers, "scoped": f"; {exposure.scoped_phrase(c)}" if c.scoped_roles else ""}
        if c.limit_set_by == "catalog":
            print(_("{name}: {verdict} (at most {most}; can read now {now}; most readers in a week {peak}{scoped})"
                    ).format(**figures))
        else:
            print(_("{name}: {verdict} (at most {most}, set by the {who}; can read now {now}; most readers in a "
                    "week {peak}{scoped})").format(who=exposure.set_by_words(c.limit_set_by), **figures))
        for v in c.violations:
            print(f"  {'!' if v.serious else '-'} {v.text}")
    return 0


def _engine(settings: Settings):  # noqa: ANN202 - sqlalchemy Engine
    from portal.core import db
    from portal.commands import CommandError

    engine = db.make_engine(settings.resolved_database_url)
    try:
        db.check_schema(engine)
    except db.DatabaseError as exc:
        engine.dispose()
        raise CommandError(str(exc)) from None
    return engine


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "exposure", help=_("who can, may and did read each telemetry category, and where policy is broken"),
        description=_("Compare grants (who can read), the policy (the catalog's allowed roles; its maximum "
                      "principals, or the company's own from PORTAL_MAX_PRINCIPALS) and access events (who did "
                      "read other people's data, per week) for every category. Readers in a scoped role (line "
                      "managers, who read only their direct reports) are counted apart and checked per person and "
                      "per reader. Readers are counted, never named."))
    cmd.add_argument("--format", default="text", choices=("text", "json"), help=_("text (default) or json"))
    cmd.set_defaults(func=_cmd_exposure)
