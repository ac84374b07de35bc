"""``portal audit``: signed checkpoints, full verification, consistency and inclusion proofs."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal.identity import directory
from portal.commands import log_index
from portal.core import i18n
from portal.core.i18n import N_, _
from portal.core.settings import Settings


def _log(settings: Settings):  # noqa: ANN202
    from portal.audit import signed_log
    from portal import bootstrap

    services = bootstrap.build(settings)
    return signed_log.AuditLog(settings, services.engine)


def _read(path: str, what: str) -> str:
    """The text of ``path``; ``what`` (marked with N_) names the file in messages."""
    from portal.core import input_files
    from portal.commands import CommandError

    if not Path(path).exists():
        raise CommandError(_("{what} {path} does not exist").format(what=_(what), path=path))
    try:  # a directory, an unreadable file or an endless device (/dev/zero) is named, never a traceback
        return input_files.read_text(path, 50 * 1024 * 1024, _(what))
    except input_files.InputFileError as exc:
        raise CommandError(str(exc)) from None


def _cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    from portal.core import input_files
    from portal.commands import CommandError

    try:
        out = input_files.check_output(args.out, "--out") if args.out else None
    except input_files.InputFileError as exc:
        raise CommandError(str(exc)) from None
    log = _log(settings)
    added = log.sync()
    checkpoint = log.checkpoint()
    if out is not None:
        try:
            out.write_text(checkpoint.text)
        except OSError as exc:
            raise CommandError(_("cannot write {file}: {problem}").format(file=out, problem=exc.strerror or exc)) \
                from None
    print(_("Logged {added} new entries. Checkpoint of {size} entries:").format(
        added=i18n.number(added), size=i18n.number(checkpoint.size)) + "\n")
    print(checkpoint.text, end="")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    log = _log(settings)
    rows = log.checkpoints()
    if not rows:
        print(_("No checkpoints yet; `portal audit checkpoint` issues one."))
    for issued_at, checkpoint in rows:
        print(_("{issued_at}  size {size}  root {root}").format(
            issued_at=f"{issued_at:%Y-%m-%d %H:%M:%S}", size=i18n.number(checkpoint.size).rjust(12),
            root=checkpoint.root_hash.hex()))
    return 0


def _cmd_public_key(args: argparse.Namespace, settings: Settings) -> int:
    print(_log(settings).verifier_key())
    return 0


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from portal.audit.signed_log import AuditError
    from portal.commands import CommandError

    try:
        entry = _log(settings).show(args.index)
    except AuditError as exc:
        raise CommandError(str(exc)) from None
    print(json.dumps(entry, indent=1, ensure_ascii=False))
    return 0


def _cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    report = _log(settings).verify()
    print(report.describe())
    return 0 if report.ok else 1


def _cmd_consistency(args: argparse.Namespace, settings: Settings) -> int:
    from portal.audit.signed_log import AuditError, NotACheckpoint
    from portal.commands import CommandError

    try:
        result = _log(settings).consistency(_read(args.old, N_("checkpoint file")))
    except NotACheckpoint as exc:
        raise CommandError(f"{args.old}: {exc}") from None
    except AuditError as exc:
        print(_("NOT CONSISTENT: {problem}").format(problem=exc))
        return 1
    print(_("Consistent: the current log ({new_size} entries, each recomputed from its stored row) extends the "
            "stored checkpoint ({old_size} entries); proof of {hashes} hashes verified.").format(
        new_size=i18n.number(result.new_size), old_size=i18n.number(result.old_size),
        hashes=i18n.number(len(result.proof))))
    for node in result.proof:
        print(f"  {node.hex()}")
    return 0


def _pinned_key(args: argparse.Namespace, settings: Settings) -> tuple[str | None, str]:
    """The key to check bundles against, and where it came from: --key, or this deployment's log key."""
    from portal.audit import signed_log
    from portal.commands import CommandError

    if args.key:
        return _read(args.key, N_("key file")).strip(), _("the key in {file}").format(file=args.key)
    try:
        found = signed_log.deployment_verifier_key(settings)
    except signed_log.AuditError as exc:
        raise CommandError(str(exc)) from None
    return found, _("this deployment's log key")


def _cmd_verify_proof(args: argparse.Namespace, settings: Settings) -> int:
    from portal.audit.signed_log import AuditError, NoPinnedKey, verify_bundle
    from portal.commands import CommandError
    from portal.core.json_input import JsonTooDeep

    key, whose = _pinned_key(args, settings)
    text = _read(args.bundle, N_("bundle"))
    try:
        result = verify_bundle(text, key, expected_origin=args.origin)
    except JsonTooDeep as exc:
        raise CommandError(_("bundle {file} {problem}").format(file=args.bundle, problem=exc)) from None
    except NoPinnedKey as exc:
        raise CommandError(str(exc)) from None
    except AuditError as exc:
        print(_("NOT VERIFIED: {problem}").format(problem=exc))
        return 1
    checkpoint = result.checkpoint
    print(_("Verified with key {key} (key id {key_id}, {whose}): {proven} entries are included in the log of "
            "{origin} at size {size} (root {root}).").format(
        key=result.key.name, key_id=result.key.key_id.hex(), whose=whose, proven=i18n.number(result.proven),
        origin=checkpoint.origin, size=i18n.number(checkpoint.size), root=checkpoint.root_hash.hex()))
    return 0


def _cmd_proof(args: argparse.Namespace, settings: Settings) -> int:
    from portal.audit import signed_log
    from portal import bootstrap
    from portal.privacy import export
    from portal.commands import CommandError
    from portal.commands.export import recorded_events

    if not args.reason.strip():
        raise CommandError(_("--reason must say why the bundle is made; the person will read it"))
    out = Path(args.out)
    if out.is_dir():  # refused before the read is recorded: a directory cannot take the bundle's place
        raise CommandError(_("--out {file} is a directory; name a file").format(file=out))
    if out.exists() and not args.force:
        raise CommandError(_("{file} already exists; choose another file or pass --force").format(file=out))
    if not out.parent.is_dir():
        raise CommandError(_("{directory} is not a directory").format(directory=out.parent))
    services = bootstrap.build(settings)
    try:
        log = signed_log.AuditLog(settings, services.engine)
        try:
            result = signed_log.subject_proof_bundle(log, export.cli_principal(), args.subject, args.reason)
        except (directory.UnknownSubject, signed_log.AuditError, ValueError) as exc:
            raise CommandError(str(exc)) from None
        signed_log.write_private(out, result.text)
    finally:
        services.engine.dispose()
    print(_("Wrote the proof bundle of {entries} log entries about {subject} to {file} (checkpoint of {size} "
            "entries).").format(entries=i18n.number(result.entries), subject=args.subject, file=out,
                                size=i18n.number(result.checkpoint_size)))
    print(recorded_events(result.recorded))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help=_("the tamper-evident access log: checkpoints and proofs"))
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    cmd = sub.add_parser("checkpoint", help=_("log new entries and issue a signed checkpoint"))
    cmd.add_argument("--out", metavar="FILE", help=_("also write the checkpoint to FILE"))
    cmd.set_defaults(func=_cmd_checkpoint)

    sub.add_parser("list", help=_("list every checkpoint issued")).set_defaults(func=_cmd_list)
    sub.add_parser("public-key", help=_("print the verifier key of the log's checkpoints")).set_defaults(
        func=_cmd_public_key)
    sub.add_parser("verify", help=_("recompute the whole log; names the first bad entry (exit 1)")).set_defaults(
        func=_cmd_verify)

    cmd = sub.add_parser("show", help=_("print one log entry; an erased person's entries read 'person erased'"))
    cmd.add_argument("index", type=log_index, metavar="INDEX", help=_("the entry's position in the log, from 0"))
    cmd.set_defaults(func=_cmd_show)

    cmd = sub.add_parser("consistency", help=_("prove the current log extends a checkpoint stored earlier"))
    cmd.add_argument("old", metavar="OLD_CHECKPOINT_FILE",
                     help=_("a checkpoint written earlier (`portal audit checkpoint --out FILE`)"))
    cmd.set_defaults(func=_cmd_consistency)

    cmd = sub.add_parser(
        "verify-proof", help=_("check a person's proof bundle offline against a pinned key (needs no database)"),
        description=_("Check that every entry of a proof bundle is included in the log under a checkpoint signed "
                      "by the pinned key: --key FILE (the output of `portal audit public-key`, obtained apart from "
                      "the bundle), or this deployment's log key when run where the portal's data is. The key "
                      "inside the bundle is only compared with it. Exit 0 verified, 1 not verified, 2 no key or "
                      "unusable input."))
    cmd.add_argument("bundle", metavar="BUNDLE", help=_("the proof bundle (JSON)"))
    cmd.add_argument("--key", metavar="FILE", help=_("the log's verifier key (`portal audit public-key`)"))
    cmd.add_argument("--origin", help=_("the log origin you expect (default: the bundle's own)"))
    cmd.set_defaults(func=_cmd_verify_proof)

    cmd = sub.add_parser(
        "proof", help=_("write one person's proof bundle (privacy office; logged for the person to see)"),
        description=_("Write the bundle a person downloads from 'Who accessed my data': their log entries with "
                      "inclusion proofs, the signed checkpoint and the log's public key. The command acts as the "
                      "privacy office's service actor; reading the person's access record is recorded as an "
                      "access event they see, with --reason, and is itself in the bundle."))
    cmd.add_argument("subject", metavar="SUBJECT", help=_("the person: employee id, e-mail or OIDC subject"))
    cmd.add_argument("--out", required=True, metavar="FILE", help=_("where to write the bundle (JSON, mode 0600)"))
    cmd.add_argument("--reason", required=True, metavar="TEXT",
                     help=_("why the bundle is made; shown to the person"))
    cmd.add_argument("--force", action="store_true", help=_("overwrite FILE if it exists"))
    cmd.set_defaults(func=_cmd_proof)
