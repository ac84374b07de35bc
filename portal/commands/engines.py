"""``portal verify-erased``: the whole lake against every completed erasure, on the batch engine chosen;
and the ``--engine``/``--workers`` options every command that runs batch work shares.

Exit 0 when no erased person's rows remain, 1 with a list of what remains and where, 2 on bad input.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings
from portal.commands import CommandError, int_between

if TYPE_CHECKING:  # loaded when a command runs, not when the parser is built
    from portal.engines.engine import BatchEngine
    from portal.engines.erased import Verification
    from portal.services import Services

ENGINE_CHOICES = ("local", "ray")
MAX_WORKERS = 1024
MAX_SUBJECTS = 10_000
SHOWN = 50  # files listed before "and N more"


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    """``--engine`` and ``--workers``, for a command whose batch work can run on either engine."""
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default=None,
                        help=_("where batch work runs: local (polars in this process) or ray (a local Ray cluster, "
                               "or RAY_ADDRESS's, with Daft reading the lake); default PORTAL_ENGINE, else local"))
    parser.add_argument("--workers", type=int_between(1, MAX_WORKERS), default=None, metavar="N",
                        help=_("CPUs of the local Ray cluster the ray engine starts (default: every CPU); "
                               "ignored with RAY_ADDRESS"))


def batch_engine(args: argparse.Namespace, settings: Settings) -> BatchEngine:
    """The engine ``args`` and ``settings`` choose; Ray starts only when it gets work."""
    from portal.engines.choice import open_engine
    from portal.engines.engine import EngineError

    if args.workers is not None and (args.engine or settings.engine) != "ray":
        raise CommandError(_("--workers sizes the ray engine's cluster; add --engine ray (or set PORTAL_ENGINE=ray)"))
    try:
        return open_engine(settings, args.engine, args.workers)
    except EngineError as exc:
        raise CommandError(str(exc)) from None


def _subject(value: str) -> str:
    text = value.strip()
    if not text:
        raise argparse.ArgumentTypeError(_("is empty; give a subject id as the lake holds it, e.g. E00042"))
    if len(text) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise argparse.ArgumentTypeError(_("{value} is not a subject id: at most 200 characters, no control "
                                           "characters").format(value=repr(text[:40])))
    return text


def _cmd_verify_erased(args: argparse.Namespace, settings: Settings) -> int:
    from portal.commands import with_services
    from portal.engines import erased
    from portal.engines.engine import EngineError
    from portal.lake.telemetry import TelemetryError

    batch = batch_engine(args, settings)
    subjects = list(dict.fromkeys(args.subject or []))
    if len(subjects) > MAX_SUBJECTS:
        raise CommandError(_("{given} subjects given; at most {most} at once").format(
            given=i18n.number(len(subjects)), most=i18n.number(MAX_SUBJECTS)))

    def work(services: Services) -> int:
        started = time.perf_counter()
        location = services.settings.lake_location
        if subjects:
            result = erased.verify_subjects(batch, location, subjects)
        else:
            erasures = erased.completed_erasures(services.engine)
            if not erasures:
                print(_("No completed erasure to verify."))
                return 0
            result = erased.verify_erasures(batch, location, erasures)
        print(_report(result, subjects, time.perf_counter() - started))
        return 0 if result.clean else 1

    return with_services(settings, work, (EngineError, TelemetryError, ValueError))


def _report(result: Verification, subjects: list[str], seconds: float) -> str:
    rows = result.rows
    what = (_("{n} subject(s) in every table").format(n=i18n.number(len(subjects))) if subjects else
            _("{n} completed erasure(s) (rows up to each erasure, in the tables it covered)").format(
                n=i18n.number(len(result.erasures))))
    head = _("Checked {what}: {files} data file(s) of {tables} table(s), referenced or not, on the {engine} engine "
             "in {seconds} s.").format(what=what, files=i18n.number(rows.total_files),
                                      tables=i18n.number(len(rows.files_scanned)), engine=result.engine,
                                      seconds=i18n.decimal(seconds, 1))
    if rows.clean:
        return head + "\n" + (_("No row of those subjects remains.") if subjects else
                              _("No row of an erased person remains."))
    lines = [head, _("FOUND: {rows} row(s) in {files} file(s):").format(
        rows=i18n.number(sum(f.rows for f in rows.found)), files=i18n.number(len(rows.found)))]
    for found in rows.found[:SHOWN]:
        requests = result.requests_of(found.table_name, found.subject_id)
        why = "".join(" " + _("({id}, erased {at} UTC)").format(
            id=e.request_id, at=f"{e.erased_at[found.table_name]:%Y-%m-%d %H:%M}") for e in requests)
        lines.append(f"  {found.table_name}  {found.subject_id}{why}: " + _("{n} row(s) in {file}").format(
            n=i18n.number(found.rows), file=found.file))
    if len(rows.found) > SHOWN:
        lines.append("  " + _("... and {n} more file(s)").format(n=i18n.number(len(rows.found) - SHOWN)))
    if not subjects:
        lines.append(_("Each file above holds data of an erased person: a file the Delta log no longer references "
                       "is a leftover to delete; rows in a live file need a new erasure of that table."))
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "verify-erased",
        help=_("check the whole lake for rows of erased people (every data file, referenced or not)"),
        description=_("Read every Parquet data file of every telemetry table (whether the Delta log references it "
                      "or not; the log itself is not data) and count the rows of every person whose erasure was "
                      "completed: in the tables the erasure covered, recorded at or before it ran (later rows are "
                      "new collection). With --subject, count every row of the given subjects in every table "
                      "instead. Exit 0 when nothing remains, 1 with a list of the files that hold rows, 2 on bad "
                      "input."))
    cmd.add_argument("--subject", action="append", type=_subject, metavar="ID",
                     help=_("a subject id (the lake's subject column, e.g. E00042) to look for instead of the "
                            "completed erasures; repeat for several"))
    add_engine_options(cmd)
    cmd.set_defaults(func=_cmd_verify_erased)
