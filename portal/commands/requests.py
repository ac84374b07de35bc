"""``portal requests``: file, list, show, decide and carry out privacy requests (as the privacy office).

The command acts as the privacy office's service actor (``svc:portal-cli``); the
request history records it under that id, never under a person's name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from portal.identity import directory
from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings


def _errors() -> tuple[type[Exception], ...]:
    from portal.audit import checkpoint
    from portal.core import catalog
    from portal.privacy import deadlines, erasure, optout, privacy_requests, receipts, request_states
    from portal.identity import policy
    from portal.lake import telemetry

    return (privacy_requests.RequestError, privacy_requests.RequestNotFound, request_states.TransitionError,
            deadlines.DeadlineError, directory.UnknownSubject, catalog.UnknownCategory, policy.PermissionDenied,
            erasure.ErasureError, telemetry.TelemetryError, optout.OptOutError, receipts.ReceiptError,
            checkpoint.CheckpointError)


def _request_json(request: Any) -> dict[str, Any]:
    return {
        "id": request.request_id, "status": request.status.value, "kind": request.kind.value,
        "subject": request.employee_id, "scope": request.scope,
        "categories": list(request.categories) if request.categories else None, "purpose": request.purpose_code,
        "channel": request.channel, "received_at": request.received_at.isoformat(),
        "deadline": request.deadline.isoformat(),
        "extended_deadline": request.extended_deadline.isoformat() if request.extended_deadline else None,
        "extension_reason": request.extension_reason, "due": request.due.isoformat(),
        "decision_reason": request.decision_reason,
    }


def _line(request: Any) -> str:
    return _("{id}  {status} {kind} {subject} due {due}  {scope}").format(
        id=request.request_id, status=f"{request.status.value:<10}", kind=f"{request.kind.value:<9}",
        subject=f"{request.employee_id:<10}", due=request.due.isoformat(), scope=request.scope)


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


def _with_services(settings: Settings, work: Any) -> int:
    from portal.commands import with_services

    return with_services(settings, work, _errors())


def _office() -> Any:
    from portal.privacy import export

    return export.cli_principal()


def _cmd_file(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import privacy_requests

    def work(services: Any) -> int:
        request = privacy_requests.file_request(
            services.engine, _office(), args.subject, args.kind, categories=args.categories, purpose=args.purpose,
            channel=args.channel, details=args.details)
        if args.json:
            _print_json(_request_json(request))
        else:
            print(_("Filed {id} ({kind}, {scope}); status {status}, due {due}.").format(
                id=request.request_id, kind=request.kind.value, scope=request.scope, status=request.status.value,
                due=request.due.isoformat()))
        return 0

    return _with_services(settings, work)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import privacy_requests

    def work(services: Any) -> int:
        found = privacy_requests.list_requests(services.engine, _office(), status=args.status)
        if args.json:
            _print_json([_request_json(r) for r in found])
        elif not found:
            print(_("No requests with status {status}.").format(status=args.status) if args.status
                  else _("No requests."))
        else:
            for request in found:
                print(_line(request))
        return 0

    return _with_services(settings, work)


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import erasure, privacy_requests, request_states

    def work(services: Any) -> int:
        office = _office()
        request = privacy_requests.get(services.engine, office, args.id)
        entries = privacy_requests.history(services.engine, office, args.id)
        error = erasure.last_error(services.engine, office, args.id)
        if args.json:
            _print_json({**_request_json(request), "last_error": error, "history": [
                {"at": e.at.isoformat(), "event": e.event, "from": e.from_status.value if e.from_status else None,
                 "to": e.to_status.value, "by": e.actor_role, "actor": e.actor_ref, "reason": e.reason}
                for e in entries]})
            return 0
        print(_line(request))
        print("  " + _("status: {words}").format(words=_(request_states.STATUS_WORDS[request.status])))
        if request.extended_deadline:
            print("  " + _("deadline: {deadline}, extended to {extended}: {reason}").format(
                deadline=request.deadline.isoformat(), extended=request.extended_deadline.isoformat(),
                reason=request.extension_reason))
        else:
            print("  " + _("deadline: {deadline}").format(deadline=request.deadline.isoformat()))
        if error:
            print("  " + _("last attempt failed: {problem}").format(problem=error))
        print("  " + _("history:"))
        for e in entries:
            change = e.event
            if e.event == "transition":
                assert e.from_status is not None  # a transition starts from a status
                change = f"{e.from_status.value} -> {e.to_status.value}"
            said = {"at": f"{e.at:%Y-%m-%d %H:%M}", "change": f"{change:<24}", "role": e.actor_role,
                    "actor": e.actor_ref}
            print("    " + (_("{at} UTC  {change} by {role} ({actor}): {reason}").format(reason=e.reason, **said)
                            if e.reason else _("{at} UTC  {change} by {role} ({actor})").format(**said)))
        return 0

    return _with_services(settings, work)


def _cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import privacy_requests
    from portal.commands import CommandError

    if not args.reason.strip():
        raise CommandError(_("--reason must say why; the employee reads it"))

    def work(services: Any) -> int:
        office = _office()
        if args.decision == "approve":
            request = privacy_requests.approve(services.engine, office, args.id, args.reason)
        elif args.decision == "reject":
            request = privacy_requests.transition(services.engine, office, args.id, "rejected", args.reason)
        else:
            request = privacy_requests.extend(services.engine, office, args.id, args.months, args.reason)
        print(_("{id} is {status}; due {due}.").format(id=request.request_id, status=request.status.value,
                                                       due=request.due.isoformat()))
        return 0

    return _with_services(settings, work)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import erasure

    def work(services: Any) -> int:
        office = _office()
        ids = [args.id] if args.id else erasure.runnable(services.engine, office)
        if not ids:
            print(_("No approved requests to carry out."))
            return 0
        failed = 0
        for request_id in ids:
            try:
                receipt = erasure.execute(services.engine, services.store, office, request_id, progress=_progress)
            except Exception as exc:  # noqa: BLE001 - each failure is recorded with its step; the others still run
                failed += 1
                print("\n" + _("{id}: FAILED: {problem}").format(id=request_id, problem=exc), file=sys.stderr)
                continue
            print(_("{id}: completed and verified; receipt signed by {key}.").format(
                id=request_id, key=receipt.public_key.split("+")[0]))
        if failed:
            print(_("{failed} of {total} request(s) failed; they stay as they were and can be run again.").format(
                failed=i18n.number(failed), total=i18n.number(len(ids))), file=sys.stderr)
        return 1 if failed else 0

    return _with_services(settings, work)


def _progress(fraction: float, message: str) -> None:
    print(f"\r{i18n.percent(fraction, 1):>6} {message}".ljust(80), end="\n" if fraction >= 1 else "", flush=True)


def _cmd_plan(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import erasure, privacy_requests

    def work(services: Any) -> int:
        request = privacy_requests.get(services.engine, _office(), args.id)
        found = erasure.plan(services.engine, services.store, request)
        if args.json:
            _print_json({"id": found.request_id, "kind": found.kind.value, "scope": found.scope,
                         "tables": [t.__dict__ for t in found.tables],
                         "datasets": [d.as_dict() for d in found.datasets],
                         "models": [m.as_dict() for m in found.models], "kept": list(found.kept)})
            return 0
        print(_("{id} ({kind}: {scope}) will touch:").format(id=found.request_id, kind=found.kind.value,
                                                             scope=found.scope))
        for t in found.tables:
            version = _(", Delta version {version}").format(version=t.version) if t.version is not None else ""
            print(f"  {t.store:<9} {t.table:<20} {i18n.number(t.rows):>10}  {t.what}{version}")
        for d in found.datasets:
            print("  " + _("dataset {name} {version}: {status} -> {new_status}").format(
                name=d.name, version=d.version, status=d.status, new_status=d.new_status))
        for m in found.models:
            print("  " + _("model {name} {version} (trained on {datasets})").format(
                name=m.name, version=m.version, datasets=", ".join(m.datasets)))
        return 0

    return _with_services(settings, work)


def _cmd_receipt(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import receipts
    from portal.commands import CommandError

    out = Path(args.out)
    if out.exists() and not args.force:
        raise CommandError(_("{file} already exists; choose another file or pass --force").format(file=out))

    def work(services: Any) -> int:
        found = receipts.for_request(services.engine, _office(), args.id)
        if found is None:
            raise CommandError(_("request {id} has no receipt yet; a receipt is issued once it is completed").format(
                id=args.id))
        tmp = out.with_name(out.name + ".part")
        try:
            tmp.write_text(found.text, encoding="utf-8")
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(_("cannot write {file}: {problem}").format(file=out, problem=exc.strerror or exc)) \
                from None
        print(_("Wrote the signed receipt of {id} to {file}.").format(id=args.id, file=out))
        return 0

    return _with_services(settings, work)


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "requests", help=_("file, list, decide and carry out privacy requests (privacy office)"),
        description=_("Privacy requests (erasure, objection, copy of all data), worked as the privacy office's "
                      "service actor svc:portal-cli. SUBJECT is an employee id, an e-mail or an OIDC subject."))
    sub = cmd.add_subparsers(dest="requests_command", required=True, metavar="ACTION")

    file_ = sub.add_parser("file", help=_("file a request received by e-mail, letter or in person"))
    file_.add_argument("--subject", required=True, metavar="SUBJECT", help=_("employee id, e-mail or OIDC subject"))
    file_.add_argument("--kind", required=True, choices=("erasure", "objection", "access"),
                       help=_("erasure, objection or access (a copy of all data)"))
    file_.add_argument("--categories", nargs="+", metavar="KEY", help=_("category keys (default: all for erasure)"))
    file_.add_argument("--purpose", metavar="CODE", help=_("for an objection, e.g. train_ai_system"))
    file_.add_argument("--channel", default="email", choices=("portal", "email", "letter"),
                       help=_("how the request arrived (default email)"))
    file_.add_argument("--details", metavar="TEXT", help=_("what the person wrote, if useful"))
    file_.add_argument("--json", action="store_true", help=_("print the request as JSON"))
    file_.set_defaults(func=_cmd_file)

    list_ = sub.add_parser("list", help=_("requests, soonest deadline first"))
    list_.add_argument("--status", metavar="STATUS", help=_("only requests with this status"))
    list_.add_argument("--json", action="store_true", help=_("print the requests as JSON"))
    list_.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help=_("one request: status, deadline, history"))
    show.add_argument("id", metavar="ID", help=_("the request's id"))
    show.add_argument("--json", action="store_true", help=_("print the request as JSON"))
    show.set_defaults(func=_cmd_show)

    plan = sub.add_parser("plan", help=_("what carrying out a request will touch, before anything happens"))
    plan.add_argument("id", metavar="ID", help=_("the request's id"))
    plan.add_argument("--json", action="store_true", help=_("print the plan as JSON"))
    plan.set_defaults(func=_cmd_plan)

    for decision, text in (("approve", _("approve (a submitted request is reviewed first)")),
                           ("reject", _("reject, with a reason the employee reads")),
                           ("extend", _("extend the deadline once by 1 or 2 months (GDPR Art. 12(3))"))):
        p = sub.add_parser(decision, help=text)
        p.add_argument("id", metavar="ID", help=_("the request's id"))
        p.add_argument("--reason", required=True, metavar="TEXT", help=_("why; the employee reads it"))
        if decision == "extend":
            p.add_argument("--months", type=int, choices=(1, 2), default=2, help=_("further months (default 2)"))
        p.set_defaults(func=_cmd_decide, decision=decision)

    run = sub.add_parser("run", help=_("carry out approved requests (or one), verify, issue receipts"))
    run.add_argument("id", nargs="?", metavar="ID", help=_("only this request"))
    run.set_defaults(func=_cmd_run)

    receipt = sub.add_parser("receipt", help=_("write a completed request's signed receipt"))
    receipt.add_argument("id", metavar="ID", help=_("the request's id"))
    receipt.add_argument("--out", required=True, metavar="FILE", help=_("where to write the receipt (JSON)"))
    receipt.add_argument("--force", action="store_true", help=_("overwrite FILE if it exists"))
    receipt.set_defaults(func=_cmd_receipt)
