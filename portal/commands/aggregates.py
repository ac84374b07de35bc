"""``portal aggregates``: the works council's collection figures, exactly as the page shows them."""

from __future__ import annotations

import argparse
import sys

from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings

FORMATS = ("json", "csv")


def _cmd_aggregates(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap
    from portal.council import council_tables, figures
    from portal.commands import CommandError
    from portal.commands.engines import batch_engine
    from portal.engines.engine import EngineError
    from portal.lake.telemetry import TelemetryError

    try:
        view = figures.collection_view(args.by, args.period)
    except figures.WorksCouncilError as exc:
        raise CommandError(str(exc)) from None
    batch = batch_engine(args, settings)
    services = bootstrap.build(settings)
    try:
        release = figures.collection_release(settings, services.engine, services.store, batch)
    except (figures.WorksCouncilError, TelemetryError, EngineError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    cells = council_tables.rows(release, view)
    columns = [*view, "people", *figures.MEASURES[figures.COLLECTION]]
    text = council_tables.to_json(cells) + "\n" if args.format == "json" else council_tables.to_csv(cells, columns)
    sys.stdout.write(text)
    hidden = sum(cell["people"] is None for cell in cells)
    figures_said = {"k": release.k, "hidden": i18n.number(hidden), "cells": i18n.number(len(cells))}
    if release.noisy:
        said = _("Every figure describes at least {k} people; people are rounded to a multiple of {k}; {hidden} of "
                 "{cells} cells hidden (empty); counts carry differential-privacy noise (epsilon {epsilon}).").format(
            epsilon=format(release.epsilon, "g"), **figures_said)
    else:
        said = _("Every figure describes at least {k} people; people are rounded to a multiple of {k}; {hidden} of "
                 "{cells} cells hidden (empty).").format(**figures_said)
    print(said, file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from portal.commands.engines import add_engine_options
    from portal.council import figures

    cmd = subparsers.add_parser(
        "aggregates", help=_("print the works council's collection figures (k-anonymous, as on the page)"),
        description=_("Print telemetry records collected per department, category and week, with the same "
                      "suppression as the Council overview page: every figure describes at least "
                      "PORTAL_K_ANONYMITY people, no figure about fewer people can be worked out by subtracting "
                      "others, and numbers of people are rounded to a multiple of it. Hidden cells have empty "
                      "people and records; docs/council-privacy.md explains the model. The figures come from the "
                      "stored release when it is current; otherwise they are computed on the batch engine "
                      "(--engine), which gives the same figures either way."))
    cmd.add_argument("--by", default="department,category", metavar="DIMENSIONS",
                     help=_("comma-separated grouping, one or both of: {choices} (default department,category)"
                            ).format(choices=", ".join(figures.BY_CHOICES)))
    cmd.add_argument("--period", default="all", metavar="PERIOD",
                     help=_("{periods}: per ISO week, or the whole period (default all)").format(
                         periods=" | ".join(figures.PERIODS)))
    cmd.add_argument("--format", default="json", choices=FORMATS, help=_("json (default) or csv"))
    add_engine_options(cmd)
    cmd.set_defaults(func=_cmd_aggregates)
