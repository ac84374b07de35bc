"""``portal catalog show|check``: the telemetry catalog in force, and checking a catalog file before use."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal.commands import CommandError
from portal.core import i18n
from portal.core.i18n import _, ngettext
from portal.core import catalog, catalog_file
from portal.core.settings import Settings


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    current = catalog.active()  # the settings put PORTAL_CATALOG's file in force
    print(catalog_file.to_json(current) if args.format == "json" else catalog_file.to_toml(current), end="")
    return 0


def _cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    try:
        checked = catalog_file.load(Path(args.file))
    except catalog_file.CatalogError as exc:
        raise CommandError(str(exc)) from None
    objectable = sorted({p for c in checked.categories for p in c.objectionable_purposes})
    kept = [c.key for c in checked.categories if not c.erasable]
    categories = ngettext("{n} category", "{n} categories", len(checked.categories)).format(
        n=i18n.number(len(checked.categories)))
    purposes = ngettext("{n} purpose", "{n} purposes", len(checked.purposes)).format(
        n=i18n.number(len(checked.purposes)))
    print(_("{file}: a usable catalog: {categories}, {purposes}; open to objection: {objectable}; not erasable on "
            "request: {kept}.").format(file=args.file, categories=categories, purposes=purposes,
                                       objectable=", ".join(objectable) or _("no purpose"),
                                       kept=", ".join(kept) or _("none")))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "catalog", help=_("show the telemetry catalog in force, or check a catalog file"),
        description=_("The catalog declares the telemetry categories the company records: columns, purposes, "
                      "legal basis per purpose, retention, readers. PORTAL_CATALOG names the file; without it the "
                      "six demo categories apply. docs/catalog.md explains every field."))
    sub = cmd.add_subparsers(dest="catalog_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", help=_("print the effective catalog (every optional field written out)"))
    show.add_argument("--format", default="toml", choices=("toml", "json"), help=_("toml (default) or json"))
    show.set_defaults(func=_cmd_show)
    check = sub.add_parser("check", help=_("validate a catalog file; exit 2 naming each problem's line"))
    check.add_argument("file", metavar="FILE", help=_("the catalog file (TOML)"))
    check.set_defaults(func=_cmd_check)
