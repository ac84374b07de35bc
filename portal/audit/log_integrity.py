"""Policy-checked views of the tamper-evident log, for the pages.

Employees get their inclusion status and proof bundle; the works council and
the privacy office witness checkpoints; only the privacy office runs the full
recomputation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import sqlalchemy as sa

from portal.core import db, i18n
from portal.core.i18n import N_, _
from portal.audit.signed_log import AuditLog, Consistency, NotACheckpoint, Progress, VerifyReport
from portal.audit.checkpoint import Checkpoint
from portal.identity.principal import Principal
from portal.identity.policy import ensure

MAX_CHECKPOINT_BYTES = 64 * 1024


@dataclass(frozen=True)
class Published:
    checkpoint: Checkpoint
    verifier_key: str
    issued: int


def published(principal: Principal, log: AuditLog) -> Published:
    """The latest signed checkpoint (issuing the first one if there is none) and the public key."""
    ensure(principal, "audit:witness")
    latest = log.latest_checkpoint() or log.checkpoint()
    return Published(latest, log.verifier_key(), len(log.checkpoints()))


def check_stored_checkpoint(principal: Principal, log: AuditLog, data: bytes,
                            progress: Progress | None = None) -> Consistency:
    """Prove that today's log, recomputed from its stored rows, extends a checkpoint the council stored
    earlier; :class:`NotACheckpoint` if the file is not one, :class:`AuditError` if the log does not."""
    ensure(principal, "audit:witness")
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise NotACheckpoint(_("that file is {n} bytes; a checkpoint is a few hundred bytes").format(
            n=i18n.number(len(data))))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise NotACheckpoint(_("that file is not UTF-8 text, so it is not a checkpoint")) from None
    return log.consistency(text, progress)


def verify_everything(principal: Principal, log: AuditLog, progress: Progress | None = None) -> VerifyReport:
    ensure(principal, "audit:verify")
    return log.verify(progress)


def _own_pseudonym(principal: Principal, log: AuditLog) -> str | None:
    ensure(principal, "access_log:read_own", principal.employee_id)
    with log.engine.connect() as conn:
        return conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                            .where(db.pseudonyms.c.employee_id == principal.employee_id)).scalar()


def my_inclusion(principal: Principal, log: AuditLog, event_ids: list[str]) -> dict[str, str]:
    """Each of the person's events recomputed from its stored row and checked against the latest
    signed checkpoint: ``verified``, ``pending`` or ``altered``."""
    ensure(principal, "access_log:read_own", principal.employee_id)
    return log.check_events(event_ids).status


def my_proof_bundle(principal: Principal, log: AuditLog) -> bytes:
    """The person's entries with inclusion proofs, the checkpoint and the public key, as JSON."""
    pseudonym = _own_pseudonym(principal, log)
    # without a pseudonym: no entries, still a checkable checkpoint
    bundle = log.proof_bundle("" if pseudonym is None else pseudonym)
    return json.dumps(bundle, indent=1).encode()


ALTERED = "does NOT match the log"
# How each read's place in the signed log is said in the access table (translated where shown).
INCLUSION_WORDS = {"verified": N_("verified"), "pending": N_("pending"), "altered": N_("does NOT match the log")}
# Shown as Markdown by the page, translated there: _(OFFLINE_CHECK).
OFFLINE_CHECK = N_(
    "The bundle holds your log entries, a path from each to the log's signed checkpoint, and that checkpoint. "
    "A bundle can only prove something against a key you did **not** get from the bundle itself: compare the "
    "log's public key below with the one the works council publishes (its *Access log integrity* page) or the "
    "privacy office gives you (`portal audit public-key`), save it to a file, and run\n\n"
    "`portal audit verify-proof my-access-log-proofs.json --key log-key.txt`\n\n"
    "on any machine with the portal's command line. It recomputes each entry's hash and its path to the signed "
    "root, and names the key that verified it. The hashing is RFC 6962 and the checkpoint a C2SP signed note, "
    "so other tools can check it too.")


def public_key(principal: Principal, log: AuditLog) -> str:
    """The log's verifier key, for a person checking their proof bundle."""
    ensure(principal, "access_log:read_own", principal.employee_id)
    return log.verifier_key()


@dataclass(frozen=True)
class Inclusion:
    """Whether a person's reads are in the signed log, as the access page states it. Each read was
    recomputed from its stored row: its leaf hash and the path from it to the signed root."""

    included: int
    pending: int
    checkpoint_size: int | None
    by_event: dict[str, str]
    altered: int = 0

    @property
    def verified(self) -> bool:
        return bool(self.checkpoint_size) and not self.pending and not self.altered

    def sentence(self) -> str:
        if self.altered:
            return _("Warning: {n} of these reads do NOT match the signed access log: their stored record was changed "
                     "after it was logged, or its proof does not reach the signed checkpoint. Ask the privacy office "
                     "and the works council to look into it.").format(n=i18n.number(self.altered))
        if self.checkpoint_size is None:
            return _("The access log has no signed checkpoint yet, so these reads are not yet verifiable.")
        if not self.pending:
            return _("Verified: each of the {n} reads shown was recomputed from its stored record and proven to be in "
                     "the signed access log (checkpoint of {size} entries).").format(
                n=i18n.number(self.included), size=i18n.number(self.checkpoint_size))
        return _("{n} reads were recomputed and proven to be in the signed access log; {pending} newer ones will be "
                 "included at the next checkpoint.").format(n=i18n.number(self.included),
                                                            pending=i18n.number(self.pending))

    def status(self, event_id: str) -> str:
        """Whether the read is in the signed log, in words of the language in use."""
        found = self.by_event.get(event_id, "pending")
        return _(INCLUSION_WORDS[found]) if found in INCLUSION_WORDS else found


def inclusion_for(principal: Principal, log: AuditLog, event_ids: list[str]) -> Inclusion:
    found = my_inclusion(principal, log, event_ids)
    latest = log.latest_checkpoint()
    counts = {status: sum(1 for v in found.values() if v == status) for status in ("verified", "pending", "altered")}
    return Inclusion(counts["verified"], counts["pending"], latest.size if latest else None, found,
                     counts["altered"])


def with_log_status(frame: pl.DataFrame, event_ids: list[str], inclusion: Inclusion) -> pl.DataFrame:
    """The access table with a column saying whether each read is in the signed log."""
    return frame.with_columns(pl.Series("In the signed log", [inclusion.status(e) for e in event_ids]))
