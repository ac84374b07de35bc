"""``portal export``: the privacy office's copy of one person's data, logged as an access they see."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal.identity import directory
from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings


def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap
    from portal.core import catalog, input_files
    from portal.privacy import export
    from portal.commands import CommandError
    from portal.commands.ingest import checkpoint

    if not args.reason.strip():
        raise CommandError(_("--reason must say why the copy is made; the person will read it"))
    if len(args.reason) > 4000:  # the access event's justification, which the person reads, holds 4,000
        raise CommandError(_("--reason is {length} characters long; at most {most} are kept").format(
            length=i18n.number(len(args.reason)), most=i18n.number(4000)))
    if args.purpose not in catalog.PURPOSE_BY_CODE:
        raise CommandError(_("--purpose {purpose} is not a registered purpose code; known: {known}").format(
            purpose=repr(args.purpose), known=", ".join(sorted(catalog.PURPOSE_BY_CODE))))
    try:  # before anything is read or recorded: a directory cannot take the copy's place, even with --force
        input_files.check_output(args.out, "--out")
    except input_files.InputFileError as exc:
        raise CommandError(str(exc)) from None
    services = bootstrap.build(settings)
    try:
        report = export.build_copy_for_subject(
            services.engine, services.store, export.cli_principal(), args.subject, Path(args.out), args.reason,
            purpose=args.purpose, naming=settings.actor_naming, overwrite=args.force,
            progress=_progress if args.progress else None)
        print(report.describe())
        print(recorded_events(len(report.event_ids)))
        print(checkpoint(settings, services.engine))
    except (export.ExportError, directory.UnknownSubject) as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    return 0


def recorded_events(count: int) -> str:
    """The line that says how many access events the person will see."""
    return _("Recorded {n} access event(s) that the person sees, with your reason.").format(n=i18n.number(count))


def _progress(fraction: float, message: str) -> None:
    print(f"\r{i18n.percent(fraction, 1):>6} {message}".ljust(80), end="\n" if fraction >= 1 else "", flush=True)


def register(subparsers: argparse._SubParsersAction) -> None:
    from portal.privacy import export

    cmd = subparsers.add_parser(
        "export", help=_("write one person's complete copy (privacy office; logged for the person to see)"),
        description=_("Write a ZIP with everything held about one person (telemetry per category as JSON Lines, "
                      "CSV and Parquet; their access events; dataset memberships; a manifest and README). "
                      "The command acts as the privacy office's service actor {actor}; every category read is "
                      "recorded as an access event that the person sees, with --reason as the justification."
                      ).format(actor=export.CLI_SUBJECT))
    cmd.add_argument("subject", metavar="SUBJECT", help=_("the person: employee id, e-mail or OIDC subject"))
    cmd.add_argument("--out", required=True, metavar="FILE", help=_("where to write the ZIP"))
    cmd.add_argument("--reason", required=True, metavar="TEXT",
                     help=_("why the copy is made, e.g. a request or ticket number; shown to the person"))
    cmd.add_argument("--purpose", default=export.PRIVACY_OFFICE_PURPOSE, metavar="CODE",
                     help=_("registered purpose of the read (default {purpose})").format(
                         purpose=export.PRIVACY_OFFICE_PURPOSE))
    cmd.add_argument("--force", action="store_true", help=_("overwrite FILE if it exists"))
    cmd.add_argument("--progress", action="store_true", help=_("show progress while writing"))
    cmd.set_defaults(func=_cmd_export)
