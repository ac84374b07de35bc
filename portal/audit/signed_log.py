"""The tamper-evident access log: a Merkle tree over access events, request history and the collector
register's decisions.

Every row of ``access_events``, ``request_transitions`` and ``collector_decisions`` becomes one leaf, in
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
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from portal.core.times import as_utc
from portal.identity import pseudonyms
from portal.identity import directory
from portal.audit import checkpoint as cp
from portal.core import db, i18n, json_input
from portal.core.i18n import _
from portal.audit.merkle import MerkleTree, ProofError, RootBuilder, StateError, canonical_bytes, leaf_hash
from portal.audit.merkle import verify_consistency, verify_inclusion
from portal.core.settings import Settings

BUNDLE_FORMAT = "telemetry-portal/inclusion-proof-bundle/v1"
SYNC_BATCH = 20_000
Progress = Callable[[int, int, str], None]


class AuditError(ValueError):
    """Verification failed or input is unusable; the message says what and where."""


class NotACheckpoint(AuditError):
    """What was given is not a checkpoint signed by this log (malformed, another key or origin):
    nothing can be said about whether the log extends it."""


class NoPinnedKey(AuditError):
    """A bundle cannot be checked without a key obtained apart from it."""


def normalise_note(text: str) -> str:
    """A stored checkpoint as its signer wrote it: without a byte-order mark, with LF line ends and one
    final newline, so that an editor's or a download's additions do not make it another checkpoint."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    return text.rstrip("\n") + "\n" if text.strip() else text


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    moment = as_utc(moment)
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


def collector_entry(row: sa.Row) -> dict:
    """The logged form of a collector's registration or a works council decision about it (by role and
    pseudonym or service id, never a name)."""
    return {
        "log": "collector", "seq": row.seq, "collector": row.collector_name, "at": _iso(row.at),
        "event": row.event, "actor_role": row.actor_role, "actor_ref": row.actor_ref, "reason": row.reason,
    }


# Each source: its table (with a ``seq`` column that only grows) and the encoder of its rows. Syncing,
# verification, consistency and ``show`` go through this table; only proofs about a person's reads
# (``check_events``, ``inclusion``, ``proof_bundle``) are about access events alone.
SOURCES = {
    "access": (db.access_events, access_entry),
    "request": (db.request_transitions, request_entry),
    "collector": (db.collector_decisions, collector_entry),
}


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    problems: list[str] = field(default_factory=list)
    first_bad_index: int | None = None
    logged_first: int = 0  # rows that were in the database but not yet in the log, logged and signed first

    def describe(self) -> str:
        first = _("{n} rows that were in the database but not yet in the log were logged and signed first. ").format(
            n=i18n.number(self.logged_first)) if self.logged_first else ""
        if self.ok:
            return first + _("Verified: {entries} log entries recomputed and {checkpoints} signed checkpoints checked; "
                             "the log is intact.").format(entries=i18n.number(self.entries),
                                                          checkpoints=i18n.number(self.checkpoints))
        return first + _("Verification FAILED:") + "\n" + "\n".join(f"- {p}" for p in self.problems)


@dataclass(frozen=True)
class Consistency:
    old_size: int
    new_size: int
    proof: list[bytes]
    checkpoint: cp.Checkpoint
    recomputed: int = 0  # entries whose leaf hash was recomputed from the stored rows


@dataclass(frozen=True)
class EventCheck:
    """What the log says about some access events, each recomputed from its stored row.

    ``status[event_id]``: ``verified`` (the row's leaf hash has an inclusion path to the latest
    signed checkpoint), ``pending`` (not yet under a checkpoint) or ``altered`` (the row no longer
    hashes to what was logged, or its path does not reach the signed root).
    """

    status: dict[str, str]
    checkpoint: cp.Checkpoint | None


@dataclass(frozen=True)
class BundleCheck:
    checkpoint: cp.Checkpoint
    proven: int
    key: cp.VerifierKey


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
        """The log's signing key, created (mode 0600) on first use, named after the log's origin
        (C2SP tlog-checkpoint: the key name SHOULD equal the origin)."""
        if (self.key_dir / cp.PRIVATE_KEY_FILE).exists():
            return cp.load_signer(self.key_dir)
        try:
            return cp.generate_keypair(self.key_dir, self.origin)
        except cp.CheckpointError:  # an origin that cannot be a key name (spaces, '+'): its host part
            return cp.generate_keypair(self.key_dir, self.origin.split("/")[0].replace("+", "-").split()[0])

    def verifier_key(self) -> str:
        return self.signer().verifier_key

    def pinned_key(self) -> str | None:
        """This deployment's verifier key if it has one already (never creates a key)."""
        return self._pinned_key_at(self.settings)

    @staticmethod
    def _pinned_key_at(settings: Settings) -> str | None:
        key_dir = settings.data_dir / "audit" / "keys"
        if not (key_dir / cp.VERIFIER_KEY_FILE).is_file():
            return None
        try:
            return cp.load_verifier_key(key_dir)
        except (OSError, UnicodeDecodeError, cp.CheckpointError) as exc:
            raise AuditError(f"this deployment's verifier key {key_dir / cp.VERIFIER_KEY_FILE} "
                             f"is unreadable: {exc}") from None

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
        table, _encode = SOURCES[source]
        last = conn.execute(
            sa.select(sa.func.max(db.log_entries.c.source_seq)).where(db.log_entries.c.source == source)
        ).scalar()
        query = sa.select(table).order_by(table.c.seq)
        if last is not None:
            query = query.where(table.c.seq > last)
        yield from conn.execute(query.execution_options(yield_per=SYNC_BATCH))

    def sync(self, progress: Progress | None = None) -> int:
        """Append every access event, request transition and collector decision not yet in the log; returns
        how many."""
        added = 0
        with self.engine.begin() as conn:
            start = conn.execute(sa.select(sa.func.count()).select_from(db.log_entries)).scalar() or 0
            batch: list[dict] = []
            for source, (_table, encode) in SOURCES.items():
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

    def check_events(self, event_ids: list[str]) -> EventCheck:
        """Recompute each access event's leaf hash from its stored row and verify its inclusion path
        to the latest signed checkpoint's root (see :class:`EventCheck`)."""
        latest = self.latest_checkpoint()
        status = dict.fromkeys(event_ids, "pending")
        if not event_ids or latest is None:
            return EventCheck(status, latest)
        e, a = db.log_entries.c, db.access_events.c
        with self.engine.connect() as conn, self._tree() as tree:
            for chunk in range(0, len(event_ids), 500):
                rows = conn.execute(
                    sa.select(db.access_events, e.log_index, e.leaf_hash.label("logged_hash"))
                    .join(db.log_entries, sa.and_(e.source == "access", e.source_seq == a.seq))
                    .where(a.event_id.in_(event_ids[chunk:chunk + 500]), e.log_index < latest.size)
                )
                for row in rows:
                    status[row.event_id] = self._event_status(row, tree, latest)
        return EventCheck(status, latest)

    @staticmethod
    def _event_status(row: sa.Row, tree: MerkleTree, latest: cp.Checkpoint) -> str:
        recomputed = leaf_hash(canonical_bytes(access_entry(row)))
        if recomputed.hex() != row.logged_hash:
            return "altered"
        try:
            verify_inclusion(recomputed, row.log_index, latest.size,
                             tree.inclusion_proof(row.log_index, latest.size), latest.root_hash)
        except ProofError:
            return "altered"
        return "verified"

    def inclusion(self, event_ids: list[str]) -> dict[str, int | None]:
        """For each access event id, its leaf index if covered by the latest checkpoint, else None.
        Says nothing about content: pages use :meth:`check_events`."""
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

    def consistency(self, old_checkpoint_text: str, progress: Progress | None = None) -> Consistency:
        """Prove that the current log extends a checkpoint stored earlier, recomputing every entry up to
        the latest checkpoint from the stored rows; :class:`NotACheckpoint` if the text is not one of
        this log's checkpoints, :class:`AuditError` if the log does not extend it."""
        vkey = self.verifier_key()
        try:
            old = cp.parse_checkpoint(normalise_note(old_checkpoint_text), vkey, self.origin)
        except cp.CheckpointError as exc:
            raise NotACheckpoint(_("this is not a checkpoint of this log: {problem}").format(problem=exc)) from None
        latest = self.checkpoint()
        if old.size > latest.size:
            raise AuditError(_("the stored checkpoint claims {old} entries but the log has only {now}: the log was "
                               "truncated or rewritten").format(old=i18n.number(old.size), now=i18n.number(latest.size)))
        old_root, new_root, first_bad = self._recompute_roots(old.size, latest.size, progress)
        if old_root != old.root_hash:
            where = _(" (first changed or missing entry: {index})").format(index=first_bad) \
                if first_bad is not None else ""
            raise AuditError(_("the log's first {n} entries, recomputed from the stored rows, no longer hash to the "
                               "stored checkpoint's root: history was rewritten{where}").format(
                n=i18n.number(old.size), where=where))
        if new_root != latest.root_hash:
            where = _(" (first changed or missing entry: {index})").format(index=first_bad) \
                if first_bad is not None else ""
            raise AuditError(_("the log's {n} entries, recomputed from the stored rows, do not hash to its latest "
                               "signed checkpoint: entries were changed after they were logged{where}").format(
                n=i18n.number(latest.size), where=where))
        with self._tree() as tree:
            proof = tree.consistency_proof(old.size, latest.size)
        try:
            verify_consistency(old.size, latest.size, old.root_hash, latest.root_hash, proof)
        except ProofError as exc:
            raise AuditError(_("the stored tree files no longer give a valid consistency proof ({problem}): they "
                               "were changed; `portal audit verify` names the damage").format(problem=exc)) from None
        return Consistency(old.size, latest.size, proof, latest, recomputed=latest.size)

    def _recompute_roots(self, old_size: int, new_size: int,
                         progress: Progress | None) -> tuple[bytes, bytes, int | None]:
        """Roots at ``old_size`` and ``new_size`` from leaf hashes recomputed from the stored rows (a
        missing row or one that no longer matches its logged hash changes the root), and the first
        index whose row does not match what was logged."""
        hashes = bytearray(32 * new_size)
        first_bad: int | None = None
        e = db.log_entries.c
        done = 0
        with self.engine.connect() as conn:
            for source, (table, encode) in SOURCES.items():
                rows = conn.execute(
                    sa.select(e.log_index, e.leaf_hash.label("logged_hash"), table)
                    .select_from(db.log_entries.outerjoin(table, table.c.seq == e.source_seq))
                    .where(e.source == source, e.log_index < new_size).order_by(e.log_index)
                    .execution_options(yield_per=SYNC_BATCH))
                for row in rows:
                    index = row.log_index
                    # a deleted row has no content, so no leaf hash can be recomputed
                    recomputed = b"\0" * 32 if row.seq is None else leaf_hash(canonical_bytes(encode(row)))
                    hashes[32 * index:32 * index + 32] = recomputed
                    if recomputed.hex() != row.logged_hash and (first_bad is None or index < first_bad):
                        first_bad = index
                    done += 1
                    if progress and done % SYNC_BATCH == 0:
                        progress(done, new_size, "recomputing entries from the stored rows")
        builder, old_root = RootBuilder(), None
        for index in range(new_size):
            if index == old_size:
                old_root = builder.root()
            builder.add_leaf_hash(bytes(hashes[32 * index:32 * index + 32]))
        new_root = builder.root()
        return (new_root if old_root is None else old_root), new_root, first_bad

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

    def verify(self, progress: Progress | None = None, *, log_pending: bool = True) -> VerifyReport:
        """Recompute every leaf from the stored rows and check the tree and every checkpoint. First (unless
        ``log_pending`` is off) log and sign rows that are in the database but not yet in the log, as a
        stopped ingest leaves them; rows still outside the log then count as a failure."""
        logged = 0
        try:
            if log_pending and self._tree_matches_entries():  # never "repair" damaged tree files here
                logged = self.sync()
                if logged:
                    self.checkpoint()
            report = self._verify(progress)
        except (StateError, AuditError) as exc:
            return VerifyReport(ok=False, entries=0, checkpoints=0, logged_first=logged,
                                problems=[f"the tree files are damaged: {exc}"], first_bad_index=None)
        return replace(report, logged_first=logged)

    def _tree_matches_entries(self) -> bool:
        with self.engine.connect() as conn, self._tree() as tree:
            return tree.size == (conn.execute(sa.select(sa.func.count()).select_from(db.log_entries)).scalar() or 0)

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
                # Rows never logged at all (an ingest cut short between its commit and its log entries).
                newer = sa.select(sa.func.count()).select_from(table)
                if last is not None:
                    newer = newer.where(table.c.seq > last)
                unlogged = conn.execute(newer).scalar() or 0
                if unlogged:
                    bad(None, f"{unlogged:,} {source} rows are in the database but not in the log; "
                              "`portal audit checkpoint` logs and signs them")
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


def verify_bundle(text: str | bytes, verifier_key: str | cp.VerifierKey | None,
                  expected_origin: str | None = None) -> BundleCheck:
    """Check a proof bundle offline against a *pinned* verifier key (this deployment's, or one obtained
    apart from the bundle); the key inside the bundle is only compared with it, never trusted.

    Raises :class:`NoPinnedKey` without a key and :class:`AuditError` naming the first thing that
    fails. Never reports success on partial input: every listed entry must verify.
    """
    if verifier_key is None:
        raise NoPinnedKey(_("no key to check the bundle against: the key inside a bundle proves nothing, since "
                            "whoever made the bundle chose it. Pass --key FILE (the output of "
                            "`portal audit public-key`, from the privacy office or the works council)"))
    try:
        pinned = cp.parse_verifier_key(verifier_key)
    except cp.CheckpointError as exc:
        raise AuditError(_("the pinned key is unusable: {problem}").format(problem=exc)) from None
    try:
        bundle = json_input.loads(text)  # JsonTooDeep passes: unusable input rather than a failed proof
    except json_input.NotJson as exc:
        raise AuditError(_("the bundle is not JSON ({reason}); it may be truncated").format(reason=exc.reason)) from None
    if not isinstance(bundle, dict) or bundle.get("format") != BUNDLE_FORMAT:
        raise AuditError(_("not a proof bundle: format must be {format}").format(format=repr(BUNDLE_FORMAT)))
    for key in ("origin", "checkpoint", "entries"):
        if key not in bundle:
            raise AuditError(_("the bundle lacks {field}").format(field=repr(key)))
    if "verifier_key" in bundle:
        try:
            named = cp.parse_verifier_key(bundle["verifier_key"])
        except (cp.CheckpointError, AttributeError, TypeError):
            raise AuditError(_("the bundle names a verifier key that is not one")) from None
        if str(named) != str(pinned):
            raise AuditError(_("the bundle was signed with another key ({found}), not the pinned {pinned}").format(
                found=f"{named.name}+{named.key_id.hex()}", pinned=f"{pinned.name}+{pinned.key_id.hex()}"))
    origin = expected_origin or bundle["origin"]
    if not isinstance(origin, str) or not isinstance(bundle["checkpoint"], str):
        raise AuditError(_("the bundle's origin and checkpoint must be text"))
    try:
        checkpoint = cp.parse_checkpoint(normalise_note(bundle["checkpoint"]), pinned, origin)
    except cp.CheckpointError as exc:
        raise AuditError(_("the checkpoint does not verify with the pinned key: {problem}").format(
            problem=exc)) from None
    if not isinstance(bundle["entries"], list):
        raise AuditError(_("'entries' must be a list"))
    for number, item in enumerate(bundle["entries"], start=1):
        try:
            data = base64.b64decode(item["entry"], validate=True)
            index = int(item["index"])
            proof = [bytes.fromhex(h) for h in item["inclusion_proof"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise AuditError(_("entry {number} of the bundle is malformed ({problem})").format(
                number=number, problem=exc)) from None
        try:
            verify_inclusion(leaf_hash(data), index, checkpoint.size, proof, checkpoint.root_hash)
        except ProofError as exc:
            raise AuditError(_("entry {number} (log index {index}) is not proven by the checkpoint: {problem}").format(
                number=number, index=index, problem=exc)) from None
    return BundleCheck(checkpoint, len(bundle["entries"]), pinned)


def deployment_verifier_key(settings: Settings) -> str | None:
    """This deployment's log verifier key when its data directory holds one (never creates a key)."""
    return AuditLog._pinned_key_at(settings)  # noqa: SLF001 - this module's own class


@dataclass(frozen=True)
class SubjectBundle:
    text: str
    entries: int
    checkpoint_size: int
    recorded: int


def subject_proof_bundle(log: "AuditLog", principal: object, subject: str, reason: str,
                         purpose: str = "legal.compliance") -> SubjectBundle:
    """The privacy office's copy of a person's proof bundle. Reading the person's access record is
    recorded first, as one access event per category the record covers, with ``reason``; the
    bundle is made after the next checkpoint, so it proves those events too."""
    from portal.audit import access_events
    from portal.identity import policy

    policy.ensure(principal, "subjects:lookup")  # type: ignore[arg-type]
    if not isinstance(reason, str) or not reason.strip():
        raise AuditError(_("a reason is required: the person will read it next to this access"))
    a = db.access_events.c
    with log.engine.begin() as conn:
        employee_id = directory.resolve_subject(conn, subject)
        pseudonym = pseudonyms.pseudonym_of(conn, employee_id, create=True)
        covered = conn.execute(sa.select(a.category_key, sa.func.count()).where(a.subject_pseudonym == pseudonym)
                               .group_by(a.category_key).order_by(a.category_key)).all()
        reads = [access_events.Read(category, int(count)) for category, count in covered]
        recorded = access_events.record_reads(conn, principal, employee_id, reads, purpose, reason,  # type: ignore[arg-type]
                                           access_events.EXPORT, query_id=f"proof-bundle-{int(time.time())}")
    assert pseudonym is not None  # create=True
    checkpoint = log.checkpoint()
    bundle = log.proof_bundle(pseudonym)
    return SubjectBundle(json.dumps(bundle, indent=1), len(bundle["entries"]), checkpoint.size, len(recorded))


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only, atomically (a person's log entries)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
