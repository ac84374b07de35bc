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
    return (f"{request.request_id}  {request.status.value:<10} {request.kind.value:<9} {request.employee_id:<10} "
            f"due {request.due.isoformat()}  {request.scope}")


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
            print(f"Filed {request.request_id} ({request.kind.value}, {request.scope}); status {request.status.value}, "
                  f"due {request.due.isoformat()}.")
        return 0

    return _with_services(settings, work)


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import privacy_requests

    def work(services: Any) -> int:
        found = privacy_requests.list_requests(services.engine, _office(), status=args.status)
        if args.json:
            _print_json([_request_json(r) for r in found])
        elif not found:
            print("No requests" + (f" with status {args.status}." if args.status else "."))
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
        print(f"  status: {request_states.STATUS_WORDS[request.status]}")
        print(f"  deadline: {request.deadline.isoformat()}"
              + (f", extended to {request.extended_deadline.isoformat()}: {request.extension_reason}"
                 if request.extended_deadline else ""))
        if error:
            print(f"  last attempt failed: {error}")
        print("  history:")
        for e in entries:
            change = e.event
            if e.event == "transition":
                assert e.from_status is not None  # a transition starts from a status
                change = f"{e.from_status.value} -> {e.to_status.value}"
            print(f"    {e.at:%Y-%m-%d %H:%M} UTC  {change:<24} by {e.actor_role} ({e.actor_ref})"
                  + (f": {e.reason}" if e.reason else ""))
        return 0

    return _with_services(settings, work)


def _cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import privacy_requests
    from portal.commands import CommandError

    if not args.reason.strip():
        raise CommandError("--reason must say why; the employee reads it")

    def work(services: Any) -> int:
        office = _office()
        if args.decision == "approve":
            request = privacy_requests.approve(services.engine, office, args.id, args.reason)
        elif args.decision == "reject":
            request = privacy_requests.transition(services.engine, office, args.id, "rejected", args.reason)
        else:
            request = privacy_requests.extend(services.engine, office, args.id, args.months, args.reason)
        print(f"{request.request_id} is {request.status.value}; due {request.due.isoformat()}.")
        return 0

    return _with_services(settings, work)


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import erasure

    def work(services: Any) -> int:
        office = _office()
        ids = [args.id] if args.id else erasure.runnable(services.engine, office)
        if not ids:
            print("No approved requests to carry out.")
            return 0
        failed = 0
        for request_id in ids:
            try:
                receipt = erasure.execute(services.engine, services.store, office, request_id, progress=_progress)
            except Exception as exc:  # noqa: BLE001 - each failure is recorded with its step; the others still run
                failed += 1
                print(f"\n{request_id}: FAILED: {exc}", file=sys.stderr)
                continue
            print(f"{request_id}: completed and verified; receipt signed by {receipt.public_key.split('+')[0]}.")
        if failed:
            print(f"{failed} of {len(ids)} request(s) failed; they stay as they were and can be run again.",
                  file=sys.stderr)
        return 1 if failed else 0

    return _with_services(settings, work)


def _progress(fraction: float, message: str) -> None:
    print(f"\r{fraction:6.1%} {message}".ljust(80), end="\n" if fraction >= 1 else "", flush=True)


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
        print(f"{found.request_id} ({found.kind.value}: {found.scope}) will touch:")
        for t in found.tables:
            version = f", Delta version {t.version}" if t.version is not None else ""
            print(f"  {t.store:<9} {t.table:<20} {t.rows:>10,}  {t.what}{version}")
        for d in found.datasets:
            print(f"  dataset {d.name} {d.version}: {d.status} -> {d.new_status}")
        for m in found.models:
            print(f"  model {m.name} {m.version} (trained on {', '.join(m.datasets)})")
        return 0

    return _with_services(settings, work)


def _cmd_receipt(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import receipts
    from portal.commands import CommandError

    out = Path(args.out)
    if out.exists() and not args.force:
        raise CommandError(f"{out} already exists; choose another file or pass --force")

    def work(services: Any) -> int:
        found = receipts.for_request(services.engine, _office(), args.id)
        if found is None:
            raise CommandError(f"request {args.id} has no receipt yet; a receipt is issued once it is completed")
        tmp = out.with_name(out.name + ".part")
        try:
            tmp.write_text(found.text, encoding="utf-8")
            tmp.replace(out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise CommandError(f"cannot write {out}: {exc.strerror or exc}") from None
        print(f"Wrote the signed receipt of {args.id} to {out}.")
        return 0

    return _with_services(settings, work)


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "requests", help="file, list, decide and carry out privacy requests (privacy office)",
        description="Privacy requests (erasure, objection, copy of all data), worked as the privacy office's "
                    "service actor svc:portal-cli. SUBJECT is an employee id, an e-mail or an OIDC subject.")
    sub = cmd.add_subparsers(dest="requests_command", required=True, metavar="ACTION")

    file_ = sub.add_parser("file", help="file a request received by e-mail, letter or in person")
    file_.add_argument("--subject", required=True, metavar="SUBJECT", help="employee id, e-mail or OIDC subject")
    file_.add_argument("--kind", required=True, choices=("erasure", "objection", "access"))
    file_.add_argument("--categories", nargs="+", metavar="KEY", help="category keys (default: all for erasure)")
    file_.add_argument("--purpose", metavar="CODE", help="for an objection, e.g. train_ai_system")
    file_.add_argument("--channel", default="email", choices=("portal", "email", "letter"),
                       help="how the request arrived (default email)")
    file_.add_argument("--details", metavar="TEXT", help="what the person wrote, if useful")
    file_.add_argument("--json", action="store_true", help="print the request as JSON")
    file_.set_defaults(func=_cmd_file)

    list_ = sub.add_parser("list", help="requests, soonest deadline first")
    list_.add_argument("--status", metavar="STATUS", help="only requests with this status")
    list_.add_argument("--json", action="store_true")
    list_.set_defaults(func=_cmd_list)

    show = sub.add_parser("show", help="one request: status, deadline, history")
    show.add_argument("id", metavar="ID")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_cmd_show)

    plan = sub.add_parser("plan", help="what carrying out a request will touch, before anything happens")
    plan.add_argument("id", metavar="ID")
    plan.add_argument("--json", action="store_true")
    plan.set_defaults(func=_cmd_plan)

    for decision, text in (("approve", "approve (a submitted request is reviewed first)"),
                           ("reject", "reject, with a reason the employee reads"),
                           ("extend", "extend the deadline once by 1 or 2 months (GDPR Art. 12(3))")):
        p = sub.add_parser(decision, help=text)
        p.add_argument("id", metavar="ID")
        p.add_argument("--reason", required=True, metavar="TEXT", help="why; the employee reads it")
        if decision == "extend":
            p.add_argument("--months", type=int, choices=(1, 2), default=2, help="further months (default 2)")
        p.set_defaults(func=_cmd_decide, decision=decision)

    run = sub.add_parser("run", help="carry out approved requests (or one), verify, issue receipts")
    run.add_argument("id", nargs="?", metavar="ID", help="only this request")
    run.set_defaults(func=_cmd_run)

    receipt = sub.add_parser("receipt", help="write a completed request's signed receipt")
    receipt.add_argument("id", metavar="ID")
    receipt.add_argument("--out", required=True, metavar="FILE")
    receipt.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    receipt.set_defaults(func=_cmd_receipt)
