"""``portal audit``: signed checkpoints, full verification, consistency and inclusion proofs."""

from __future__ import annotations

import argparse
from pathlib import Path

from portal.settings import Settings


def _log(settings: Settings):  # noqa: ANN202
    from portal import audit_log, bootstrap

    services = bootstrap.build(settings)
    return audit_log.AuditLog(settings, services.engine)


def _read(path: str, what: str) -> str:
    from portal.cli import CommandError

    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{what} {path} does not exist")
    if file.stat().st_size > 50 * 1024 * 1024:
        raise CommandError(f"{what} {path} is larger than 50 MB; this is not a checkpoint or bundle")
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{what} {path} is not UTF-8 text") from None


def _cmd_checkpoint(args: argparse.Namespace, settings: Settings) -> int:
    log = _log(settings)
    added = log.sync()
    checkpoint = log.checkpoint()
    if args.out:
        Path(args.out).write_text(checkpoint.text)
    print(f"Logged {added:,} new entries. Checkpoint of {checkpoint.size:,} entries:\n")
    print(checkpoint.text, end="")
    return 0


def _cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    log = _log(settings)
    rows = log.checkpoints()
    if not rows:
        print("No checkpoints yet; `portal audit checkpoint` issues one.")
    for issued_at, checkpoint in rows:
        print(f"{issued_at:%Y-%m-%d %H:%M:%S}  size {checkpoint.size:>12,}  root {checkpoint.root_hash.hex()}")
    return 0


def _cmd_public_key(args: argparse.Namespace, settings: Settings) -> int:
    print(_log(settings).verifier_key())
    return 0


def _cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from portal.audit_log import AuditError
    from portal.cli import CommandError

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
    from portal.audit_log import AuditError

    try:
        result = _log(settings).consistency(_read(args.old, "checkpoint file"))
    except AuditError as exc:
        print(f"NOT CONSISTENT: {exc}")
        return 1
    print(f"Consistent: the current log ({result.new_size:,} entries) extends the stored checkpoint "
          f"({result.old_size:,} entries); proof of {len(result.proof)} hashes verified.")
    for node in result.proof:
        print(f"  {node.hex()}")
    return 0


def _cmd_verify_proof(args: argparse.Namespace, settings: Settings) -> int:
    from portal.audit_log import AuditError, verify_bundle

    try:
        checkpoint, proven = verify_bundle(_read(args.bundle, "bundle"), expected_origin=args.origin)
    except AuditError as exc:
        print(f"NOT VERIFIED: {exc}")
        return 1
    print(f"Verified: {proven} entries are included in the log of {checkpoint.origin} "
          f"at size {checkpoint.size:,} (root {checkpoint.root_hash.hex()}).")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser("audit", help="the tamper-evident access log: checkpoints and proofs")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")

    cmd = sub.add_parser("checkpoint", help="log new entries and issue a signed checkpoint")
    cmd.add_argument("--out", metavar="FILE", help="also write the checkpoint to FILE")
    cmd.set_defaults(func=_cmd_checkpoint)

    sub.add_parser("list", help="list every checkpoint issued").set_defaults(func=_cmd_list)
    sub.add_parser("public-key", help="print the verifier key of the log's checkpoints").set_defaults(
        func=_cmd_public_key)
    sub.add_parser("verify", help="recompute the whole log; names the first bad entry (exit 1)").set_defaults(
        func=_cmd_verify)

    cmd = sub.add_parser("show", help="print one log entry; an erased person's entries read 'person erased'")
    cmd.add_argument("index", type=int, metavar="INDEX")
    cmd.set_defaults(func=_cmd_show)

    cmd = sub.add_parser("consistency", help="prove the current log extends a checkpoint stored earlier")
    cmd.add_argument("old", metavar="OLD_CHECKPOINT_FILE")
    cmd.set_defaults(func=_cmd_consistency)

    cmd = sub.add_parser("verify-proof", help="check a person's proof bundle offline (needs no database)")
    cmd.add_argument("bundle", metavar="BUNDLE")
    cmd.add_argument("--origin", help="the log origin you expect (default: the bundle's own)")
    cmd.set_defaults(func=_cmd_verify_proof)
