"""``portal optouts export``, ``portal check-dataset`` and ``portal receipt verify|key``.

``check-dataset`` is the gate a training pipeline runs before it builds: exit 0
when the manifest is clean, 1 naming each subject who objected or was erased,
2 when the manifest (or the command) is unusable.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from portal.core import i18n
from portal.core.i18n import _
from portal.core.settings import Settings


def _cmd_optouts_export(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap
    from portal.privacy import export, optout
    from portal.commands import CommandError

    services = bootstrap.build(settings)
    try:
        frame = optout.optout_frame(services.engine, export.cli_principal())
        text = optout.export_text(frame, args.format)
    except optout.OptOutError as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    if args.out is None:
        sys.stdout.write(text)
        return 0
    out = Path(args.out)
    tmp = out.with_name(out.name + ".part")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)  # collectors never read half a list
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise CommandError(_("cannot write {file}: {problem}").format(file=out, problem=exc.strerror or exc)) \
            from None
    print(_("Wrote {n} active objection(s) to {file}.").format(n=i18n.number(frame.height), file=out),
          file=sys.stderr)
    return 0


def _cmd_check_dataset(args: argparse.Namespace, settings: Settings) -> int:
    from portal import bootstrap
    from portal.core import catalog
    from portal.privacy import optout
    from portal.commands import CommandError

    services = bootstrap.build(settings)
    try:
        result = optout.check_dataset(services.engine, settings.data_dir, args.manifest, args.purpose,
                                      tuple(args.category) if args.category else None)
    except (optout.OptOutError, catalog.UnknownCategory) as exc:
        raise CommandError(str(exc)) from None
    finally:
        services.engine.dispose()
    purpose = catalog.PURPOSE_BY_CODE[args.purpose].name
    if result.clean:
        print(_("{manifest}: clean. {subjects} subject(s) in {rows} row(s); nobody objected to {purpose} or a "
                "category in scope, and nobody was erased.").format(
            manifest=args.manifest, subjects=i18n.number(result.subjects), rows=i18n.number(result.rows),
            purpose=purpose))
        return 0
    print(_("{manifest}: REFUSED for {purpose}. {offenders} of {subjects} subject(s) must be left out:").format(
        manifest=args.manifest, purpose=purpose, offenders=i18n.number(len(result.offenders)),
        subjects=i18n.number(result.subjects)), file=sys.stderr)
    for offender in result.offenders:
        print(f"  {offender.line()}", file=sys.stderr)
    return 1


def _read_key(value: str) -> str:
    """The verifier key itself, or the content of the file it names (a key is one short line)."""
    from portal.core import input_files

    if not Path(value).exists():
        return value
    return input_files.read_text(value, 64 * 1024, _("the key file")).strip()


def _cmd_receipt_verify(args: argparse.Namespace, settings: Settings) -> int:
    from portal.core import input_files, json_input
    from portal.privacy import receipts
    from portal.commands import CommandError

    path = Path(args.file)
    try:
        data = input_files.read_bytes(path, receipts.MAX_RECEIPT_BYTES, _("the receipt"))
        key = _read_key(args.key) if args.key else receipts.pinned_key(settings.data_dir)
    except input_files.InputFileError as exc:
        raise CommandError(str(exc)) from None
    except receipts.ReceiptError as exc:
        raise CommandError(str(exc)) from None
    if key is None:
        raise CommandError(_("no key to check the receipt against: the key inside a receipt proves nothing, since "
                             "whoever made the receipt chose it. Pass --key FILE (the output of `portal receipt "
                             "key` on the portal that issued it), or run this where that portal's data directory "
                             "is"))
    whose = _("the key in {file}").format(file=args.key) if args.key else _("this portal's receipt key")
    try:
        receipt = receipts.verify(data, key)
    except json_input.JsonTooDeep as exc:
        raise CommandError(_("{file}: the receipt {problem}").format(file=path, problem=exc)) from None
    except receipts.ReceiptError as exc:
        print(_("{file}: NOT intact: {problem}").format(file=path, problem=exc), file=sys.stderr)
        return 1
    doc = receipt.document
    signed_by = receipt.public_key.split("+")
    print(_("{file}: intact. Receipt of {id} ({kind}), issued {issued}, verification {result}; signed by key {key} "
            "(key id {key_id}), {whose}.").format(
        file=path, id=doc["request_id"], kind=doc["kind"], issued=doc["times"].get("issued_at"),
        result=doc["verification"].get("result"), key=signed_by[0], key_id=signed_by[1], whose=whose))
    return 0


def _cmd_receipt_key(args: argparse.Namespace, settings: Settings) -> int:
    from portal.privacy import receipts

    print(receipts.verifier_key(settings.data_dir))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    from portal.core import catalog

    optouts = subparsers.add_parser("optouts", help=_("the list of active objections, for collectors and pipelines"))
    sub = optouts.add_subparsers(dest="optouts_command", required=True, metavar="ACTION")
    export = sub.add_parser("export", help=_("write subject ids, purpose or category, and since when"))
    export.add_argument("--out", metavar="FILE", help=_("write here instead of standard output"))
    export.add_argument("--format", choices=("csv", "json"), default="csv", help=_("csv (default) or json"))
    export.set_defaults(func=_cmd_optouts_export)

    gate = subparsers.add_parser(
        "check-dataset", help=_("refuse a training-set manifest that holds people who objected or were erased"),
        description=_("Exit 0 when MANIFEST is clean; 1, naming each offending subject, when it holds anyone who "
                      "objected to --purpose or to a category in scope, or whose data in scope was erased; 2 when "
                      "MANIFEST is unusable. MANIFEST is CSV (header line) or Parquet with a subject_id column "
                      "(employee id, e-mail or OIDC subject) and optionally a category column. Without a category "
                      "column or --category every category is in scope."))
    gate.add_argument("manifest", metavar="MANIFEST", help=_("the training set's manifest (.csv or .parquet)"))
    gate.add_argument("--purpose", required=True, metavar="CODE",
                      help=_("the dataset's purpose, one of: {codes}").format(
                          codes=", ".join(p.code for p in catalog.PURPOSES)))
    gate.add_argument("--category", action="append", metavar="KEY",
                      help=_("a category the dataset draws on (repeat for several)"))
    gate.set_defaults(func=_cmd_check_dataset)

    receipt = subparsers.add_parser("receipt", help=_("check a signed receipt, or print the key that signs them"))
    rsub = receipt.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")
    verify = rsub.add_parser("verify", help=_("exit 0 only when FILE is an intact receipt"))
    verify.add_argument("file", metavar="FILE", help=_("the receipt (JSON)"))
    verify.add_argument("--key", metavar="KEY", help=_("the expected public key (verifier key text or a file "
                                                       "holding it, from `portal receipt key`); a receipt signed "
                                                       "with another key fails. Default: this portal's receipt "
                                                       "key; without either the receipt is not checked"))
    verify.set_defaults(func=_cmd_receipt_verify)
    key = rsub.add_parser("key", help=_("print this portal's receipt verifier key"))
    key.set_defaults(func=_cmd_receipt_key)
