"""The tamper-evident access log: a Merkle tree over access events and request history.

Every row of ``access_events`` and ``request_transitions`` becomes one leaf, in
the order it is synced into the log (:func:`AuditLog.sync`); ``log_entries``
records which row sits at which leaf. The leaf's bytes are a canonical JSON
encoding of the whole stored row, so changing any byte of it, deleting it,
swapping two rows or inserting a forged one is detected by :func:`AuditLog.verify`
against the tree and the signed checkpoints (C2SP tlog-checkpoint, Ed25519).

People appear only as pseudonyms: erasing a person deletes the pseudonym's link
and leaves every entry and proof verifiable; the entry then reads "person erased".

Crash safety: leaves are recorded in ``log_entries`` (committed) before they are
appended to the tree files, so the tree never holds a leaf the DB does not know;
a sync that was cut short is completed by the next one.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal import checkpoint as cp
from portal import db
from portal.merkle import MerkleTree, ProofError, StateError, canonical_bytes, leaf_hash, verify_consistency
from portal.merkle import verify_inclusion
from portal.settings import Settings

BUNDLE_FORMAT = "telemetry-portal/inclusion-proof-bundle/v1"
SYNC_BATCH = 20_000
Progress = Callable[[int, int, str], None]


class AuditError(ValueError):
    """Verification failed or input is unusable; the message says what and where."""


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def access_entry(row: sa.Row) -> dict:
    """The logged form of an access event: every stored column, people by pseudonym only."""
    return {
        "log": "access", "seq": row.seq, "event_id": row.event_id, "occurred_at": _iso(row.occurred_at),
        "actor_id": row.actor_id, "subject": row.subject_pseudonym, "category": row.category_key,
        "action": row.action, "purpose": row.purpose_code, "justification": row.justification,
        "source_system": row.source_system, "record_count": row.record_count, "query_id": row.query_id,
        "ingested_at": _iso(row.ingested_at),
    }


def request_entry(row: sa.Row) -> dict:
    """The logged form of a request transition (the history names no person)."""
    return {
        "log": "request", "seq": row.seq, "request_id": row.request_id, "at": _iso(row.at),
        "from": row.from_status, "to": row.to_status, "event": row.event, "actor_role": row.actor_role,
        "actor_ref": row.actor_ref, "reason": row.reason,
    }


SOURCES = {
    "access": (db.access_events, access_entry),
    "request": (db.request_transitions, request_entry),
}


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None

    def describe(self) -> str:
        if self.ok:
            return (f"Verified: {self.entries:,} log entries recomputed and {self.checkpoints:,} signed "
                    "checkpoints checked; the log is intact.")
        return "Verification FAILED:\n" + "\n".join(f"- {p}" for p in self.problems)


@dataclass(frozen=True)
class Consistency:
    old_size: int
    new_size: int
    proof: list[bytes]
    checkpoint: cp.Checkpoint


class AuditLog:
    """The log of one deployment: tree files and keys under ``<data dir>/audit``."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.origin = settings.log_origin
        self.directory = settings.data_dir / "audit"
        self.tree_dir = self.directory / "tree"
        self.key_dir = self.directory / "keys"

    # ---- keys and tree -------------------------------------------------

    def signer(self) -> cp.Signer:
        """The log's signing key, created (mode 0600) on first use."""
        if (self.key_dir / cp.PRIVATE_KEY_FILE).exists():
            return cp.load_signer(self.key_dir)
        return cp.generate_keypair(self.key_dir, self.origin.split("/")[0])

    def verifier_key(self) -> str:
        return self.signer().verifier_key

    def _tree(self, timeout: float = 30.0) -> MerkleTree:
        """Open the tree, waiting while another process (the portal, a CLI run) holds it."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return MerkleTree(self.tree_dir)
            except StateError as exc:
                if "already open" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    # ---- appending -----------------------------------------------------

    def _unlogged(self, conn: Connection, source: str) -> Iterator[sa.Row]:
        table, _ = SOURCES[source]
        last = conn.execute(
            sa.select(sa.func.max(db.log_entries.c.source_seq)).where(db.log_entries.c.source == source)
        ).scalar()
        query = sa.select(table).order_by(table.c.seq)
        if last is not None:
            query = query.where(table.c.seq > last)
        yield from conn.execute(query.execution_options(yield_per=SYNC_BATCH))

    def sync(self, progress: Progress | None = None) -> int:
        """Append every access event and request transition not yet in the log; returns how many."""
        added = 0
        with self.engine.begin() as conn:
            start = conn.execute(sa.select(sa.func.count()).select_from(db.log_entries)).scalar() or 0
            batch: list[dict] = []
            for source, (_, encode) in SOURCES.items():
                for row in self._unlogged(conn, source):
                    batch.append({"log_index": start + added, "source": source, "source_seq": row.seq,
                                  "leaf_hash": leaf_hash(canonical_bytes(encode(row))).hex()})
                    added += 1
                    if len(batch) >= SYNC_BATCH:
                        conn.execute(sa.insert(db.log_entries), batch)
                        batch = []
                        if progress:
                            progress(added, added, "logging entries")
            if batch:
                conn.execute(sa.insert(db.log_entries), batch)
        self._catch_up_tree()
        return added

    def _catch_up_tree(self) -> None:
        with self.engine.connect() as conn, self._tree() as tree:
            total = conn.execute(sa.select(sa.func.count()).select_from(db.log_entries)).scalar() or 0
            if tree.size > total:
                raise AuditError(
                    f"the tree files hold {tree.size} leaves but the DB knows {total}; "
                    "the tree or the DB was replaced: run `portal audit verify`"
                )
            if tree.size == total:
                return
            rows = conn.execute(
                sa.select(db.log_entries.c.leaf_hash).where(db.log_entries.c.log_index >= tree.size)
                .order_by(db.log_entries.c.log_index).execution_options(yield_per=SYNC_BATCH)
            )
            tree.append_leaf_hashes(bytes.fromhex(h) for (h,) in rows)
            tree.sync()

    # ---- checkpoints ---------------------------------------------------

    def checkpoint(self) -> cp.Checkpoint:
        """Sync, then sign and store a checkpoint of the current tree (reuses one of the same size)."""
        self.sync()
        signer = self.signer()
        with self._tree() as tree:
            size, root = tree.size, tree.root()
        with self.engine.begin() as conn:
            existing = conn.execute(
                sa.select(db.log_checkpoints.c.note).where(db.log_checkpoints.c.tree_size == size)
            ).scalar()
            if existing is not None:
                return cp.parse_checkpoint(existing, signer.verifier_key, self.origin)
            note = signer.sign_checkpoint(self.origin, size, root)
            conn.execute(sa.insert(db.log_checkpoints).values(
                tree_size=size, root_hash=root.hex(), note=note, issued_at=datetime.now(UTC)))
        return cp.parse_checkpoint(note, signer.verifier_key, self.origin)

    def checkpoints(self) -> list[tuple[datetime, cp.Checkpoint]]:
        vkey = self.verifier_key()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(db.log_checkpoints).order_by(db.log_checkpoints.c.tree_size)).all()
        return [(r.issued_at, cp.parse_checkpoint(r.note, vkey, self.origin)) for r in rows]

    def latest_checkpoint(self) -> cp.Checkpoint | None:
        with self.engine.connect() as conn:
            note = conn.execute(
                sa.select(db.log_checkpoints.c.note).order_by(db.log_checkpoints.c.tree_size.desc()).limit(1)
            ).scalar()
        return None if note is None else cp.parse_checkpoint(note, self.verifier_key(), self.origin)

    # ---- proofs ----------------------------------------------------------

    def inclusion(self, event_ids: list[str]) -> dict[str, int | None]:
        """For each access event id, its leaf index if covered by the latest checkpoint, else None."""
        latest = self.latest_checkpoint()
        if not event_ids or latest is None:
            return dict.fromkeys(event_ids)
        e, a = db.log_entries.c, db.access_events.c
        found: dict[str, int | None] = dict.fromkeys(event_ids)
        with self.engine.connect() as conn:
            for chunk in range(0, len(event_ids), 500):
                ids = event_ids[chunk:chunk + 500]
                rows = conn.execute(
                    sa.select(a.event_id, e.log_index)
                    .join(db.log_entries, sa.and_(e.source == "access", e.source_seq == a.seq))
                    .where(a.event_id.in_(ids), e.log_index < latest.size)
                )
                found.update({event_id: index for event_id, index in rows})
        return found

    def proof_bundle(self, pseudonym: str) -> dict:
        """Everything needed to check offline that this person's access events are in the log."""
        latest = self.latest_checkpoint() or self.checkpoint()
        a, e = db.access_events.c, db.log_entries.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(db.access_events, e.log_index)
                .join(db.log_entries, sa.and_(e.source == "access", e.source_seq == a.seq))
                .where(a.subject_pseudonym == pseudonym, e.log_index < latest.size)
                .order_by(e.log_index)
            ).all()
        entries = []
        with self._tree() as tree:
            for row in rows:
                data = canonical_bytes(access_entry(row))
                entries.append({
                    "index": row.log_index,
                    "entry": base64.b64encode(data).decode(),
                    "leaf_hash": leaf_hash(data).hex(),
                    "inclusion_proof": [h.hex() for h in tree.inclusion_proof(row.log_index, latest.size)],
                })
        return {
            "format": BUNDLE_FORMAT,
            "hashing": "RFC 6962: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right)",
            "origin": self.origin,
            "checkpoint": latest.text,
            "verifier_key": self.verifier_key(),
            "tree_size": latest.size,
            "entries": entries,
        }

    def consistency(self, old_checkpoint_text: str) -> Consistency:
        """Prove that the current log extends a checkpoint stored earlier; :class:`AuditError` if not."""
        vkey = self.verifier_key()
        try:
            old = cp.parse_checkpoint(old_checkpoint_text, vkey, self.origin)
        except cp.CheckpointError as exc:
            raise AuditError(f"the stored checkpoint is not one of this log's: {exc}") from None
        latest = self.checkpoint()
        if old.size > latest.size:
            raise AuditError(
                f"the stored checkpoint claims {old.size:,} entries but the log has only {latest.size:,}: "
                "the log was truncated or rewritten"
            )
        with self._tree() as tree:
            if tree.root(old.size) != old.root_hash:
                raise AuditError(
                    f"the log's first {old.size:,} entries no longer hash to the stored checkpoint's root: "
                    "history was rewritten"
                )
            proof = tree.consistency_proof(old.size, latest.size)
        verify_consistency(old.size, latest.size, old.root_hash, latest.root_hash, proof)
        return Consistency(old.size, latest.size, proof, latest)

    def entries_of(self, pseudonym: str) -> list[int]:
        """Log indices of the access events about one pseudonym."""
        a, e = db.access_events.c, db.log_entries.c
        with self.engine.connect() as conn:
            return list(conn.execute(
                sa.select(e.log_index).join(db.access_events, sa.and_(e.source == "access", e.source_seq == a.seq))
                .where(a.subject_pseudonym == pseudonym).order_by(e.log_index)).scalars())

    def show(self, index: int) -> dict:
        """One log entry as stored, with whether its pseudonym still points to anyone.

        After an erasure the link is gone: the entry and its proofs stay valid, and
        the subject reads "person erased".
        """
        e = db.log_entries.c
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(db.log_entries).where(e.log_index == index)).first()
            if found is None:
                raise AuditError(f"the log has no entry {index}")
            table, encode = SOURCES[found.source]
            row = conn.execute(sa.select(table).where(table.c.seq == found.source_seq)).first()
            if row is None:
                raise AuditError(f"entry {index}: its {found.source} row {found.source_seq} is missing")
            entry = encode(row)
            if found.source == "access":
                linked = conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                                      .where(db.pseudonyms.c.pseudonym == row.subject_pseudonym)).scalar()
                entry["subject"] = row.subject_pseudonym if linked else "person erased"
        entry["log_index"] = index
        entry["leaf_hash"] = found.leaf_hash
        return entry

    # ---- full verification -------------------------------------------------

    def verify(self, progress: Progress | None = None) -> VerifyReport:
        """Recompute every leaf from the stored rows and check the tree and every checkpoint."""
        try:
            return self._verify(progress)
        except StateError as exc:
            return VerifyReport(ok=False, entries=0, checkpoints=0,
                                problems=[f"the tree files are damaged: {exc}"], first_bad_index=None)

    def _verify(self, progress: Progress | None) -> VerifyReport:
        problems: list[str] = []
        first_bad: int | None = None

        def bad(index: int | None, message: str) -> None:
            nonlocal first_bad
            if index is not None and (first_bad is None or index < first_bad):
                first_bad = index
            if len(problems) < 20:
                problems.append(message)

        with self.engine.connect() as conn, self._tree() as tree:
            total = conn.execute(sa.select(sa.func.count()).select_from(db.log_entries)).scalar() or 0
            if tree.size != total:
                bad(min(tree.size, total), f"the tree holds {tree.size:,} leaves but the DB lists {total:,} entries")
            checked = 0
            for source, (table, encode) in SOURCES.items():
                e = db.log_entries.c
                rows = conn.execute(
                    sa.select(e.log_index, e.source_seq, e.leaf_hash, table)
                    .select_from(db.log_entries.outerjoin(table, table.c.seq == e.source_seq))
                    .where(e.source == source).order_by(e.log_index)
                    .execution_options(yield_per=SYNC_BATCH)
                )
                for row in rows:
                    checked += 1
                    index = row.log_index
                    if row.seq is None:
                        bad(index, f"entry {index}: {source} row {row.source_seq} is missing (deleted)")
                        continue
                    recomputed = leaf_hash(canonical_bytes(encode(row))).hex()
                    stored = tree.leaf_hash(index).hex() if index < tree.size else None
                    if recomputed != row.leaf_hash or recomputed != stored:
                        bad(index, f"entry {index}: {source} row {row.source_seq} does not match the log "
                                   "(changed after it was logged)")
                    if progress and checked % SYNC_BATCH == 0:
                        progress(checked, total, "recomputing entries")
                # Rows the log skipped over: inserted later with an old sequence number (forged).
                last = conn.execute(sa.select(sa.func.max(e.source_seq)).where(e.source == source)).scalar()
                if last is not None:
                    logged = sa.select(e.source_seq).where(e.source == source)
                    for (seq,) in conn.execute(
                        sa.select(table.c.seq).where(table.c.seq <= last, table.c.seq.not_in(logged)).limit(20)
                    ):
                        bad(None, f"{source} row {seq} is not in the log although later rows are (inserted)")
            checkpoints = 0
            vkey = self.verifier_key()
            previous: cp.Checkpoint | None = None
            for (note,) in conn.execute(sa.select(db.log_checkpoints.c.note)
                                        .order_by(db.log_checkpoints.c.tree_size)):
                checkpoints += 1
                try:
                    current = cp.parse_checkpoint(note, vkey, self.origin)
                except cp.CheckpointError as exc:
                    bad(None, f"a stored checkpoint does not verify: {exc}")
                    continue
                if current.size > tree.size:
                    bad(tree.size, f"checkpoint of size {current.size:,} is beyond the tree's {tree.size:,} leaves")
                elif tree.root(current.size) != current.root_hash:
                    bad(None, f"checkpoint of size {current.size:,} does not match the tree's root at that size")
                if previous is not None and previous.size <= current.size <= tree.size:
                    try:
                        verify_consistency(previous.size, current.size, previous.root_hash, current.root_hash,
                                           tree.consistency_proof(previous.size, current.size))
                    except ProofError as exc:
                        bad(None, f"checkpoints {previous.size:,} -> {current.size:,} are not consistent: {exc}")
                previous = current
        if first_bad is not None:
            problems.insert(0, f"first bad entry: {first_bad}")
        return VerifyReport(ok=not problems, entries=total, checkpoints=checkpoints, problems=problems,
                            first_bad_index=first_bad)


def verify_bundle(text: str | bytes, expected_origin: str | None = None) -> tuple[cp.Checkpoint, int]:
    """Check a proof bundle offline; returns the checkpoint and how many entries were proven.

    Raises :class:`AuditError` naming the first thing that fails. Never reports
    success on partial input: every listed entry must verify.
    """
    try:
        bundle = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AuditError(f"the bundle is not JSON ({exc}); it may be truncated") from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise AuditError(f"not a proof bundle: format must be {BUNDLE_FORMAT!r}")
    for key in ("origin", "checkpoint", "verifier_key", "entries"):
        if key not in bundle:
            raise AuditError(f"the bundle lacks {key!r}")
    origin = expected_origin or bundle["origin"]
    try:
        checkpoint = cp.parse_checkpoint(bundle["checkpoint"], bundle["verifier_key"], origin)
    except cp.CheckpointError as exc:
        raise AuditError(f"the checkpoint does not verify: {exc}") from None
    if not isinstance(bundle["entries"], list):
        raise AuditError("'entries' must be a list")
    for number, item in enumerate(bundle["entries"], start=1):
        try:
            data = base64.b64decode(item["entry"], validate=True)
            index = int(item["index"])
            proof = [bytes.fromhex(h) for h in item["inclusion_proof"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise AuditError(f"entry {number} of the bundle is malformed ({exc})") from None
        try:
            verify_inclusion(leaf_hash(data), index, checkpoint.size, proof, checkpoint.root_hash)
        except ProofError as exc:
            raise AuditError(f"entry {number} (log index {index}) is not proven by the checkpoint: {exc}") from None
    return checkpoint, len(bundle["entries"])


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
