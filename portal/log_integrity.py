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

from portal import db
from portal.audit_log import AuditError, AuditLog, Consistency, Progress, VerifyReport
from portal.checkpoint import Checkpoint
from portal.identity import Principal
from portal.policy import ensure

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


def check_stored_checkpoint(principal: Principal, log: AuditLog, data: bytes) -> Consistency:
    """Prove that today's log extends a checkpoint the council stored earlier; AuditError if not."""
    ensure(principal, "audit:witness")
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise AuditError(f"that file is {len(data):,} bytes; a checkpoint is a few hundred bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise AuditError("that file is not UTF-8 text, so it is not a checkpoint") from None
    return log.consistency(text)


def verify_everything(principal: Principal, log: AuditLog, progress: Progress | None = None) -> VerifyReport:
    ensure(principal, "audit:verify")
    return log.verify(progress)


def _own_pseudonym(principal: Principal, log: AuditLog) -> str | None:
    ensure(principal, "access_log:read_own", principal.employee_id)
    with log.engine.connect() as conn:
        return conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                            .where(db.pseudonyms.c.employee_id == principal.employee_id)).scalar()


def my_inclusion(principal: Principal, log: AuditLog, event_ids: list[str]) -> dict[str, int | None]:
    """Which of the person's events are included under the latest checkpoint (None: pending)."""
    ensure(principal, "access_log:read_own", principal.employee_id)
    return log.inclusion(event_ids)


def my_proof_bundle(principal: Principal, log: AuditLog) -> bytes:
    """The person's entries with inclusion proofs, the checkpoint and the public key, as JSON."""
    pseudonym = _own_pseudonym(principal, log)
    if pseudonym is None:
        bundle = log.proof_bundle("")  # no entries; still a checkable checkpoint
    else:
        bundle = log.proof_bundle(pseudonym)
    return json.dumps(bundle, indent=1).encode()


@dataclass(frozen=True)
class Inclusion:
    """Whether a person's reads are in the signed log, as the access page states it."""

    included: int
    pending: int
    checkpoint_size: int | None
    by_event: dict[str, int | None]

    def sentence(self) -> str:
        if self.checkpoint_size is None:
            return "The access log has no signed checkpoint yet, so these reads are not yet verifiable."
        if not self.pending:
            return (f"Verified: all {self.included:,} reads shown are included in the signed access log "
                    f"(checkpoint of {self.checkpoint_size:,} entries).")
        return (f"{self.included:,} reads are included in the signed access log; {self.pending:,} newer "
                "ones will be included at the next checkpoint.")

    def status(self, event_id: str) -> str:
        return "verified" if self.by_event.get(event_id) is not None else "pending"


def inclusion_for(principal: Principal, log: AuditLog, event_ids: list[str]) -> Inclusion:
    found = my_inclusion(principal, log, event_ids)
    latest = log.latest_checkpoint()
    included = sum(1 for v in found.values() if v is not None)
    return Inclusion(included, len(found) - included, latest.size if latest else None, found)


def with_log_status(frame: pl.DataFrame, event_ids: list[str], inclusion: Inclusion) -> pl.DataFrame:
    """The access table with a column saying whether each read is in the signed log."""
    return frame.with_columns(pl.Series("In the signed log", [inclusion.status(e) for e in event_ids]))
