"""``portal aggregates``: the works council's collection figures, exactly as the page shows them."""

from __future__ import annotations

import argparse
import sys

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
    noise = f"; counts carry differential-privacy noise (epsilon {release.epsilon:g})" if release.noisy else ""
    hidden = sum(cell["people"] is None for cell in cells)
    print(f"Every figure describes at least {release.k} people; people are rounded to a multiple of {release.k}; "
          f"{hidden:,} of {len(cells):,} cells hidden (empty){noise}.", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from portal.commands.engines import add_engine_options
    from portal.council import figures

    cmd = subparsers.add_parser(
        "aggregates", help="print the works council's collection figures (k-anonymous, as on the page)",
        description="Print telemetry records collected per department, category and week, with the same "
                    "suppression as the Council overview page: every figure describes at least "
                    "PORTAL_K_ANONYMITY people, no figure about fewer people can be worked out by subtracting "
                    "others, and numbers of people are rounded to a multiple of it. Hidden cells have empty people "
                    "and records; docs/council-privacy.md explains the model. The figures come from the stored "
                    "release when it is current; otherwise they are computed on the batch engine (--engine), which "
                    "gives the same figures either way.")
    cmd.add_argument("--by", default="department,category", metavar="DIMENSIONS",
                     help=f"comma-separated grouping, one or both of: {', '.join(figures.BY_CHOICES)} "
                          "(default department,category)")
    cmd.add_argument("--period", default="all", metavar="PERIOD",
                     help=f"{' | '.join(figures.PERIODS)}: per ISO week, or the whole period (default all)")
    cmd.add_argument("--format", default="json", choices=FORMATS, help="json (default) or csv")
    add_engine_options(cmd)
    cmd.set_defaults(func=_cmd_aggregates)
