"""``portal collectors``: the collector register on the command line.

``register`` acts as the privacy office, ``approve``, ``suspend`` and ``resume`` act as the works council,
both as the service actor ``svc:portal-cli``: the register's history records that id, never a person's
name. Each registration and decision is signed into the tamper-evident log before the command ends.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from portal.commands import positive_int
from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings


def _errors() -> tuple[type[Exception], ...]:
    from portal.collection import collector_states, register
    from portal.core import catalog
    from portal.identity import policy

    return (register.CollectorError, collector_states.TransitionError, catalog.UnknownCategory,
            policy.PermissionDenied)


def _office() -> Any:
    from portal.privacy import export

    return export.cli_principal()


def _council() -> Any:
    from portal.identity.policy import WORKS_COUNCIL
    from portal.identity.principal import Principal
    from portal.privacy import export

    return Principal(subject=export.CLI_SUBJECT, email=None, name="Portal command line (works council)",
                     employee=None, roles=frozenset({WORKS_COUNCIL}))


def _with_services(settings: Settings, work: Any) -> int:
    from portal.commands import with_services

    return with_services(settings, work, _errors())


def _json(collector: Any) -> dict[str, Any]:
    def moment(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "name": collector.name, "category": collector.category_key, "purposes": list(collector.purposes),
        "legal_basis": collector.legal_basis, "retention_days": collector.retention_days,
        "agreement": collector.agreement, "description": collector.description, "status": collector.status,
        "registered_at": moment(collector.registered_at), "approved_at": moment(collector.approved_at),
        "status_changed_at": moment(collector.status_changed_at), "status_reason": collector.status_reason,
    }


def _line(collector: Any, width: int = 24) -> str:
    from portal.collection import collector_views
    from portal.core.plain_text import clean

    return clean(_("{name} {status} {category} {days} days  {words}").format(
        name=f"{collector.name:<{width}}", status=f"{collector.status:<9}", category=f"{collector.category_key:<40}",
        days=i18n.number(collector.retention_days).rjust(5), words=collector_views.status_words(collector)))


def _report(recorded: Any, done: str) -> None:
    """``done`` is a translated sentence with ``{name}`` and ``{status}``."""
    from portal.core.plain_text import clean

    print(clean(done.format(name=recorded.collector.name, status=recorded.collector.status)))
    if recorded.log_problem:
        print(_("warning: {problem}").format(problem=clean(recorded.log_problem)), file=sys.stderr)


def _cmd_register(args: argparse.Namespace, settings: Settings) -> int:
    def work(services: Any) -> int:
        recorded = services.register_collector(
            _office(), name=args.name, category_key=args.category, purposes=args.purposes.split(","),
            legal_basis=args.legal_basis, retention_days=args.retention_days, agreement=args.agreement,
            description=args.description)
        if args.json:
            print(json.dumps(_json(recorded.collector), indent=2))
        else:
            _report(recorded, _("{name} is on the register, waiting for the works council's decision; it is now "
                                "{status}."))
        return 0

    return _with_services(settings, work)


def _cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    done = {"approve": _("{name} was approved; it is now {status}."),
            "suspend": _("{name} was suspended; it is now {status}."),
            "resume": _("{name} was resumed; it is now {status}.")}[args.decision]

    def work(services: Any) -> int:
        _report(services.decide_collector(_council(), args.name, args.decision, args.reason), done)
        return 0

    return _with_services(settings, work)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    def work(services: Any) -> int:
        found = services.collector_register(_office())
        if args.json:
            print(json.dumps([_json(c) for c in found], indent=2))
        elif not found:
            print(_("No collector is on the register yet; `portal collectors register` adds one."))
        else:
            width = max(len(c.name) for c in found)
            for collector in found:
                print(_line(collector, width))
        return 0

    return _with_services(settings, work)


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from portal.core.plain_text import clean

    def work(services: Any) -> int:
        office = _office()
        entries = services.collector_history(office, args.name)
        found = next(c for c in services.collector_register(office) if c.name == args.name)
        if args.json:
            print(json.dumps({**_json(found), "history": [
                {"at": e.at.isoformat(), "event": e.event, "by": e.actor_role, "actor": e.actor_ref,
                 "reason": e.reason} for e in entries]}, indent=2))
            return 0
        print(_line(found))
        if found.description:
            print(clean(f"  {found.description}"))
        print("  " + _("history:"))
        for e in entries:
            said = {"at": f"{e.at:%Y-%m-%d %H:%M}", "change": f"{e.event:<10}", "role": e.actor_role,
                    "actor": e.actor_ref}
            print("    " + clean(_("{at} UTC  {change} by {role} ({actor}): {reason}").format(reason=e.reason, **said)
                                 if e.reason else _("{at} UTC  {change} by {role} ({actor})").format(**said)))
        return 0

    return _with_services(settings, work)


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "collectors", help=_("the collector register: register (privacy office), approve, suspend, resume (works "
                             "council), list"),
        description=_("The register of systems that send telemetry. Registering acts as the privacy office, "
                      "deciding as the works council, both as the service actor svc:portal-cli."))
    sub = cmd.add_subparsers(dest="collectors_command", required=True, metavar="ACTION")

    reg = sub.add_parser("register", help=_("put a collector on the register, pending the works council's decision"))
    reg.add_argument("--name", required=True, metavar="NAME",
                     help=_("the collector's id: letters, digits, '.', '-', '_' (at most 100)"))
    reg.add_argument("--category", required=True, metavar="KEY",
                     help=_("a catalog category, e.g. user.behavior.keystrokes"))
    reg.add_argument("--purposes", required=True, metavar="CODE[,CODE]",
                     help=_("purposes of that category, comma-separated"))
    reg.add_argument("--legal-basis", required=True, metavar="TEXT",
                     help=_("e.g. 'GDPR Art. 6(1)(f) legitimate interests'"))
    reg.add_argument("--retention-days", required=True, type=positive_int, metavar="N",
                     help=_("days the records are kept, at most the catalog's retention for the category"))
    reg.add_argument("--agreement", metavar="REF", help=_("the works agreement it operates under"))
    reg.add_argument("--description", metavar="TEXT", help=_("what it records, in words employees read"))
    reg.add_argument("--json", action="store_true", help=_("print the collector as JSON"))
    reg.set_defaults(func=_cmd_register)

    for decision, text in (("approve", _("approve a pending collector (works council)")),
                           ("suspend", _("suspend a collector, or refuse a pending one (works council)")),
                           ("resume", _("resume a suspended collector (works council)"))):
        p = sub.add_parser(decision, help=text)
        p.add_argument("name", metavar="NAME", help=_("the collector's name on the register"))
        p.add_argument("--reason", required=True, metavar="TEXT", help=_("why; employees read it"))
        p.set_defaults(func=_cmd_decide, decision=decision)

    list_ = sub.add_parser("list", help=_("every collector on the register with its status"))
    list_.add_argument("--json", action="store_true", help=_("print the collectors as JSON"))
    list_.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help=_("one collector and its history of decisions"))
    show.add_argument("name", metavar="NAME", help=_("the collector's name on the register"))
    show.add_argument("--json", action="store_true", help=_("print the collector as JSON"))
    show.set_defaults(func=_cmd_show)
