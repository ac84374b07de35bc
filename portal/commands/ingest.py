"""``portal ingest employees``, ``access``, ``lineage`` and ``grants``: validated, all-or-nothing imports."""

from __future__ import annotations

import argparse
import textwrap
from datetime import date

from portal.core import i18n, line_input
from portal.core.i18n import _
from portal.core.settings import Settings
from portal.commands import max_problems_help, positive_int


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


def checkpoint(settings: Settings, engine) -> str:  # noqa: ANN001 - sqlalchemy Engine
    """Bring new access events into the tamper-evident log and sign a checkpoint over them."""
    from portal.audit import signed_log
    from portal.commands import CommandError

    try:
        log = signed_log.AuditLog(settings, engine)
        logged = log.sync()  # also rows an earlier run committed but was stopped before logging
        signed = log.checkpoint()
    except (signed_log.AuditError, OSError) as exc:
        raise CommandError(_("the events were added, but the log checkpoint failed ({problem}); run `portal audit "
                             "checkpoint` once the problem is fixed").format(problem=exc)) from None
    return _("Logged {logged} new entries; signed log checkpoint over {size} entries.").format(
        logged=i18n.number(logged), size=i18n.number(signed.size))


def _cmd_access(args: argparse.Namespace, settings: Settings) -> int:
    from portal.audit import access_events, log_origin
    from portal.commands import CommandError

    engine = _engine(settings)
    try:
        log_origin.check(settings, engine)  # before anything is written: the log must still be able to sign
        report = access_events.ingest_access(engine, args.file, max_problems=args.max_problems)
        print(report.describe())
        if not args.no_checkpoint:  # even with nothing added: an earlier run may have stopped before logging
            print(checkpoint(settings, engine))
    except (line_input.IngestRejected, log_origin.OriginChanged) as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    return 0


def _cmd_lineage(args: argparse.Namespace, settings: Settings) -> int:
    from portal.lineage import openlineage as lineage
    from portal.commands import CommandError

    if args.events is None and not args.members:
        raise CommandError(_("give an OpenLineage events file, one or more --members manifests, or both"))
    manifests = []
    for spec in args.members:
        try:
            manifests.append(lineage.Manifest.parse(spec, args.namespace))
        except ValueError as exc:
            raise CommandError(f"--members {exc}") from None
    engine = _engine(settings)
    try:
        report = lineage.ingest_lineage(engine, args.events, manifests, max_problems=args.max_problems,
                                        training_namespaces=settings.lineage_training_namespaces)
    except line_input.IngestRejected as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    print(report.describe())
    return 0


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(_("{value} is not a date such as 2026-12-01").format(value=repr(value))) \
            from None


def _cmd_employees(args: argparse.Namespace, settings: Settings) -> int:
    from portal.commands import CommandError
    from portal.identity import directory_ingest

    engine = _engine(settings)
    try:
        report = directory_ingest.ingest_employees(engine, args.file, fmt=args.format, subject_from=args.subject_from,
                                                   effective=args.effective, max_problems=args.max_problems)
    except line_input.IngestRejected as exc:
        raise CommandError(str(exc)) from None
    finally:
        engine.dispose()
    print(report.describe())
    return 0


def _indented(text: str) -> str:
    """Example lines, dedented from the code, indented two spaces under their heading."""
    return textwrap.indent(textwrap.dedent(text), "  ")


def register(subparsers: argparse._SubParsersAction) -> None:
    from portal.audit import access_events
    from portal.core import json_input
    from portal.lineage import openlineage as lineage

    ingest = subparsers.add_parser(
        "ingest", help=_("import the company's people, access events, lineage or grants (validated; a bad record "
                         "means nothing is written)"),
        description=_("Import the company's directory, access events, lineage or grants into the metadata DB. "
                      "Every problem is reported with its record or line and field; any problem means nothing is "
                      "written; importing the same data again changes nothing."))
    kinds = ingest.add_subparsers(dest="kind", required=True, metavar="KIND")
    raw = argparse.RawDescriptionHelpFormatter

    from portal.identity import directory_ingest

    people = kinds.add_parser(
        "employees", help=_("the company's people from the HR directory or identity provider (SCIM 2.0 JSON or CSV)"),
        formatter_class=raw,
        description=_("Add and update the company's people. A person not in the file is left as they are; nobody "
                      "is deleted (a leaver, active false, keeps every right to their data).") + "\n\n"
                    + directory_ingest.FORMAT_HELP + "\n" + _("Examples:") + _indented("""
              portal ingest employees users.scim.json
              portal ingest employees people.csv --effective 2026-12-01
              portal ingest employees users.jsonl --subject-from userName"""))
    people.add_argument("file", metavar="FILE", help=_("a SCIM 2.0 export (.json, .jsonl) or a CSV file (.csv)"))
    people.add_argument("--format", choices=directory_ingest.FORMATS,
                        help=_("the file's format (default: csv for .csv files, scim otherwise)"))
    people.add_argument("--subject-from", choices=directory_ingest.SUBJECT_FROM, default="externalId",
                        help=_("the SCIM attribute that holds the identity provider's subject, matched against "
                               "the claim in PORTAL_SUBJECT_CLAIM at sign-in (default externalId)"))
    people.add_argument("--effective", type=_date, metavar="YYYY-MM-DD",
                        help=_("the day department and team changes take effect (default today, UTC)"))
    people.add_argument("--max-problems", type=positive_int, default=line_input.MAX_PROBLEMS,
                        help=max_problems_help(line_input.MAX_PROBLEMS))
    people.set_defaults(func=_cmd_employees)


    access = kinds.add_parser(
        "access", help=_("access events from a JSON Lines file"), formatter_class=raw,
        description=_("Import access events (who read whose data) from JSON Lines.") + "\n\n"
        + access_events.LINE_FORMAT + "\n"
        + _("Limits: {line_bytes} bytes per line, {file_bytes} bytes per file (a pipe\n"
            "or device is counted while it is read), JSON nested at most {depth} levels. An event's time\n"
            "may be at most {skew} minutes in the future (clock skew between collectors)\n"
            "and no older than {horizon} days (the retention horizon: the catalog's\n"
            "longest retention).").format(
            line_bytes=i18n.number(line_input.MAX_LINE_BYTES), file_bytes=i18n.number(line_input.MAX_FILE_BYTES),
            depth=json_input.MAX_DEPTH, skew=line_input.CLOCK_SKEW.seconds // 60,
            horizon=i18n.number(line_input.RETENTION_HORIZON.days))
        + "\n\n" + _("Example line:") + _indented("""
              {"event_id": "siem-000193", "time": "2025-03-01T09:30:00Z",
               "actor": {"id": "svc:security-siem", "kind": "service", "name": "Security SIEM",
                         "team": "Security Operations", "role": "security-operations"},
               "subject": "alice@example.com", "category": "user.behavior.application_usage",
               "action": "query", "purpose": "essential.service.security", "justification": "SEC-4411",
               "source_system": "Splunk", "record_count": 120, "query_id": "q-88123"}"""))
    access.add_argument("file", metavar="FILE.jsonl", help=_("the events, one JSON object per line"))
    access.add_argument("--max-problems", type=positive_int, default=line_input.MAX_PROBLEMS,
                        help=max_problems_help(line_input.MAX_PROBLEMS))
    access.add_argument("--no-checkpoint", action="store_true",
                        help=_("do not sign a log checkpoint afterwards (for bulk loads; run "
                               "`portal audit checkpoint` when done)"))
    access.set_defaults(func=_cmd_access)

    lin = kinds.add_parser(
        "lineage", help=_("an OpenLineage feed and dataset membership manifests"), formatter_class=raw,
        description=_("Register training datasets, models and who is in each dataset.") + "\n\n"
        + lineage.events_format() + "\n" + lineage.MANIFEST_FORMAT + "\n" + _("Examples:")
        + _indented("""
              portal ingest lineage openlineage.jsonl
              portal ingest lineage runs.jsonl --members meeting-corpus@v3=members.csv
              portal ingest lineage --members chat-intent@v1=members.parquet --namespace s3://acme-training"""))
    lin.add_argument("events", nargs="?", metavar="EVENTS.jsonl",
                     help=_("OpenLineage events (run events, DatasetEvents, JobEvents), one per line"))
    lin.add_argument("--members", action="append", default=[], metavar="NAME@VERSION=PATH",
                     help=_("a membership manifest (.csv or .parquet) for dataset NAME version VERSION; repeatable"))
    lin.add_argument("--namespace", metavar="NAMESPACE",
                     help=_("the namespace of the --members datasets, needed when a name and version is registered "
                            "in more than one (e.g. s3://acme-training)"))
    lin.add_argument("--max-problems", type=positive_int, default=line_input.MAX_PROBLEMS,
                     help=max_problems_help(line_input.MAX_PROBLEMS))
    lin.set_defaults(func=_cmd_lineage)

    from portal.commands.exposure import configure_ingest_grants, run_ingest_grants

    grants = kinds.add_parser("grants", help=_("who can read which category (JSON Lines or CSV)"))
    configure_ingest_grants(grants)
    grants.set_defaults(func=run_ingest_grants)

    from portal.commands.telemetry_intake import add_telemetry_parser

    add_telemetry_parser(kinds)
