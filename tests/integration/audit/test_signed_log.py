"""The tamper-evident access log: tampering of any kind is detected and located."""

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings as hsettings
from hypothesis import strategies as st

from portal.audit import checkpoint as cp
from portal.core import db
from portal.audit.signed_log import AuditError, AuditLog, NoPinnedKey, NotACheckpoint, verify_bundle
from tests.conftest import make_settings

T0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
COLUMNS = ["actor_id", "category_key", "action", "purpose_code", "justification", "source_system", "query_id"]


def add_events(engine, count, start=0, subject="p-alice"):
    rows = [
        {"event_id": f"ev-{i:05d}", "occurred_at": T0 + timedelta(minutes=i), "actor_id": f"svc:reader-{i % 3}",
         "subject_pseudonym": subject if i % 2 == 0 else "p-bob", "category_key": "user.behavior.keystrokes",
         "action": "query", "purpose_code": "essential.service.security", "justification": f"ticket SEC-{i}",
         "source_system": "SIEM", "record_count": i, "query_id": f"q{i}", "ingested_at": T0 + timedelta(days=1)}
        for i in range(start, start + count)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(db.access_events), rows)


def make_log(tmp_path, events=40):
    settings = make_settings(tmp_path)
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    add_events(engine, events)
    log = AuditLog(settings, engine)
    log.checkpoint()
    return log, engine


def unlock(engine):
    """Tampering takes deliberate effort: first the append-only triggers must go."""
    with engine.begin() as conn:
        for name in ("access_events_no_update", "access_events_no_delete"):
            conn.execute(sa.text(f"DROP TRIGGER {name}"))


def log_index_of(engine, seq):
    with engine.connect() as conn:
        return conn.execute(sa.select(db.log_entries.c.log_index).where(
            db.log_entries.c.source == "access", db.log_entries.c.source_seq == seq)).scalar()


def test_an_untouched_log_verifies(tmp_path):
    log, _ = make_log(tmp_path)
    report = log.verify()
    assert report.ok, report.describe()
    assert report.entries == 40 and report.checkpoints == 1


def test_the_database_refuses_to_rewrite_logged_rows(tmp_path):
    _, engine = make_log(tmp_path, events=3)
    for statement in ("UPDATE access_events SET action='view'", "DELETE FROM access_events",
                      "DELETE FROM log_entries", "UPDATE log_checkpoints SET note=''"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 40), column=st.sampled_from(COLUMNS), position=st.integers(0, 200))
def test_changing_one_byte_of_any_entry_is_detected_and_located(tmp_path_factory, seq, column, position):
    log, engine = make_log(tmp_path_factory.mktemp("log"))
    unlock(engine)
    with engine.begin() as conn:
        value = conn.execute(sa.select(db.access_events.c[column]).where(db.access_events.c.seq == seq)).scalar()
        text = value or "x"
        i = position % len(text)
        changed = text[:i] + chr(ord(text[i]) ^ 1) + text[i + 1:]
        conn.execute(sa.update(db.access_events).where(db.access_events.c.seq == seq).values({column: changed}))
    report = log.verify()
    assert not report.ok
    assert report.first_bad_index == log_index_of(engine, seq)


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.integers(1, 40))
def test_deleting_a_row_is_detected_and_located(tmp_path_factory, seq):
    log, engine = make_log(tmp_path_factory.mktemp("log"))
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(db.access_events).where(db.access_events.c.seq == seq))
    report = log.verify()
    assert not report.ok and report.first_bad_index == log_index_of(engine, seq)
    assert "missing" in report.describe()


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pair=st.lists(st.integers(1, 40), min_size=2, max_size=2, unique=True))
def test_reordering_two_rows_is_detected_at_the_first_of_them(tmp_path_factory, pair):
    log, engine = make_log(tmp_path_factory.mktemp("log"))
    unlock(engine)
    a, b = sorted(pair)
    t = db.access_events
    with engine.begin() as conn:
        rows = {r.seq: r._asdict() for r in conn.execute(sa.select(t).where(t.c.seq.in_([a, b])))}
        conn.execute(sa.delete(t).where(t.c.seq.in_([a, b])))
        for seq, other in ((a, b), (b, a)):
            moved = dict(rows[other], seq=seq, event_id=rows[other]["event_id"])
            conn.execute(sa.insert(t).values(moved))
    report = log.verify()
    assert not report.ok and report.first_bad_index == log_index_of(engine, a)


def test_truncating_the_log_is_detected(tmp_path):
    log, engine = make_log(tmp_path)
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(db.access_events).where(db.access_events.c.seq > 30))
    report = log.verify()
    assert not report.ok and report.first_bad_index == log_index_of(engine, 31)


def test_a_forged_row_slipped_in_between_logged_rows_is_detected(tmp_path):
    log, engine = make_log(tmp_path)
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.delete(db.access_events).where(db.access_events.c.seq == 7))
        conn.execute(sa.insert(db.access_events).values(
            seq=7, event_id="forged", occurred_at=T0, actor_id="svc:nobody", subject_pseudonym="p-alice",
            category_key="user.behavior.keystrokes", action="view", source_system="x", record_count=1,
            ingested_at=T0))
    assert not log.verify().ok


def test_truncated_tree_files_are_detected(tmp_path):
    log, _ = make_log(tmp_path)
    level0 = log.tree_dir / "level-00.bin"
    level0.write_bytes(level0.read_bytes()[:-32 * 5])
    report = log.verify()
    assert not report.ok
    assert "level-00.bin" in report.describe() or "leaves" in report.describe()


def test_the_current_log_provably_extends_an_earlier_checkpoint(tmp_path):
    log, engine = make_log(tmp_path)
    old = log.latest_checkpoint()
    add_events(engine, 25, start=100)
    result = log.consistency(old.text)
    assert (result.old_size, result.new_size) == (40, 65)


def test_a_checkpoint_from_another_origin_or_key_is_rejected(tmp_path):
    log, _ = make_log(tmp_path)
    latest = log.latest_checkpoint()
    stranger = cp.generate_keypair(tmp_path / "other-keys", log.signer().name)
    with pytest.raises(NotACheckpoint, match="not a checkpoint of this log"):
        log.consistency(stranger.sign_checkpoint(log.origin, latest.size, latest.root_hash))
    with pytest.raises(NotACheckpoint, match="not a checkpoint of this log"):
        log.consistency(log.signer().sign_checkpoint("elsewhere.example/log", latest.size, latest.root_hash))


def test_a_checkpoint_larger_than_the_log_is_a_loud_failure(tmp_path):
    log, _ = make_log(tmp_path)
    latest = log.latest_checkpoint()
    forged = log.signer().sign_checkpoint(log.origin, latest.size + 10, latest.root_hash)
    with pytest.raises(AuditError, match="only 40"):
        log.consistency(forged)


def test_a_rewritten_history_fails_the_consistency_check(tmp_path):
    log, engine = make_log(tmp_path)
    honest = log.latest_checkpoint()
    forged_root = bytes(32)
    stored = log.signer().sign_checkpoint(log.origin, honest.size, forged_root)
    with pytest.raises(AuditError, match="rewritten"):
        log.consistency(stored)


def test_a_persons_proof_bundle_verifies_offline_and_holds_only_their_entries(tmp_path):
    log, _ = make_log(tmp_path)
    bundle = log.proof_bundle("p-alice")
    result = verify_bundle(json.dumps(bundle), log.verifier_key())
    assert result.proven == 20 and result.checkpoint.size == 40
    assert str(result.key) == log.verifier_key()
    for item in bundle["entries"]:
        assert json.loads(base64.b64decode(item["entry"]))["subject"] == "p-alice"


@pytest.mark.parametrize("damage", ["truncate", "flip-entry", "flip-proof", "other-key", "other-origin"])
def test_a_damaged_bundle_is_rejected_with_a_reason(tmp_path, damage):
    log, _ = make_log(tmp_path)
    bundle = log.proof_bundle("p-alice")
    text = json.dumps(bundle)
    if damage == "truncate":
        text = text[: len(text) // 2]
    elif damage == "flip-entry":
        entry = bytearray(base64.b64decode(bundle["entries"][3]["entry"]))
        entry[10] ^= 1
        bundle["entries"][3]["entry"] = base64.b64encode(bytes(entry)).decode()
        text = json.dumps(bundle)
    elif damage == "flip-proof":
        proof = bundle["entries"][0]["inclusion_proof"]
        proof[0] = ("0" if proof[0][0] != "0" else "1") + proof[0][1:]
        text = json.dumps(bundle)
    elif damage == "other-key":
        bundle["verifier_key"] = cp.generate_keypair(tmp_path / "other-keys", "telemetry-portal.example").verifier_key
        text = json.dumps(bundle)
    with pytest.raises(AuditError):
        verify_bundle(text, log.verifier_key(),
                      expected_origin="elsewhere.example/log" if damage == "other-origin" else None)


def test_erasing_a_persons_pseudonym_link_leaves_the_log_verifiable(tmp_path):
    log, engine = make_log(tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.insert(db.employees).values(
            employee_id="E1", email="a@example.com", display_name="A", department="D", team="T",
            job_title="J", hired_on=T0.date()))
        conn.execute(sa.insert(db.pseudonyms).values(pseudonym="p-alice", employee_id="E1"))
        conn.execute(sa.delete(db.pseudonyms).where(db.pseudonyms.c.employee_id == "E1"))
    assert log.verify().ok


def test_syncing_twice_adds_nothing_and_new_events_follow_in_order(tmp_path):
    log, engine = make_log(tmp_path)
    assert log.sync() == 0
    add_events(engine, 5, start=200)
    assert log.sync() == 5
    assert log.checkpoint().size == 45
    assert log.verify().ok


def _principal(*roles, employee_id=None):
    from portal.identity.principal import Employee, Principal

    employee = Employee(employee_id, "X", "x@example.com", "D", "T", "J") if employee_id else None
    return Principal(subject="s", email=None, name=None, employee=employee, roles=frozenset(roles))


def test_only_witnesses_see_checkpoints_and_only_the_privacy_office_recomputes(tmp_path):
    from portal.audit import log_integrity
    from portal.identity.policy import PermissionDenied

    log, _ = make_log(tmp_path)
    employee = _principal("employee", employee_id="E1")
    council = _principal("employee", "works_council", employee_id="E3")
    office = _principal("employee", "privacy_office", employee_id="E4")
    with pytest.raises(PermissionDenied):
        log_integrity.published(employee, log)
    assert log_integrity.published(council, log).checkpoint.size == 40
    with pytest.raises(PermissionDenied):
        log_integrity.verify_everything(council, log)
    assert log_integrity.verify_everything(office, log).ok


def test_an_oversized_or_binary_upload_is_refused_as_a_checkpoint(tmp_path):
    from portal.audit import log_integrity

    log, _ = make_log(tmp_path)
    council = _principal("works_council")
    with pytest.raises(AuditError, match="a checkpoint is a few hundred bytes"):
        log_integrity.check_stored_checkpoint(council, log, b"x" * 100_000)
    with pytest.raises(AuditError, match="not UTF-8"):
        log_integrity.check_stored_checkpoint(council, log, b"\xff\xfe\x00")


def test_on_postgresql_the_log_verifies_and_its_tables_refuse_rewrites(tmp_path, fresh_postgres_url):
    settings = make_settings(tmp_path, database_url=fresh_postgres_url)
    engine = db.make_engine(settings.resolved_database_url)
    db.migrate(engine)
    add_events(engine, 12)
    log = AuditLog(settings, engine)
    log.checkpoint()
    assert log.verify().ok
    for statement in ("UPDATE log_entries SET leaf_hash = 'x'", "DELETE FROM log_checkpoints",
                      "TRUNCATE log_entries"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    engine.dispose()


# ---- keys are pinned; "verified" recomputes from content; no row stays outside the log ----------


def test_a_bundle_forged_with_a_fresh_key_is_refused_against_the_pinned_key(tmp_path):
    log, _ = make_log(tmp_path)
    forger = cp.generate_keypair(tmp_path / "forger", log.signer().name)
    bundle = log.proof_bundle("p-alice")
    bundle["checkpoint"] = forger.sign_checkpoint(log.origin, 40, bytes(32))
    bundle["verifier_key"] = forger.verifier_key
    bundle["entries"] = []
    text = json.dumps(bundle)
    assert verify_bundle(text, forger.verifier_key).proven == 0  # self-consistent, which proves nothing
    with pytest.raises(AuditError, match="signed with another key"):
        verify_bundle(text, log.verifier_key())
    del bundle["verifier_key"]
    with pytest.raises(AuditError, match="does not verify with the pinned key"):
        verify_bundle(json.dumps(bundle), log.verifier_key())


def test_a_bundle_without_a_pinned_key_is_not_checked_at_all(tmp_path):
    log, _ = make_log(tmp_path)
    with pytest.raises(NoPinnedKey, match="--key FILE"):
        verify_bundle(json.dumps(log.proof_bundle("p-alice")), None)


def test_a_new_logs_key_is_named_after_its_origin(tmp_path):
    log, _ = make_log(tmp_path)
    assert log.signer().name == log.origin == "telemetry-portal.example/access-log"
    assert log.latest_checkpoint().text.split("\n")[-2].split(" ")[1] == log.origin


def test_an_access_row_edited_behind_the_triggers_is_reported_altered_not_verified(tmp_path):
    log, engine = make_log(tmp_path)
    ids = [f"ev-{i:05d}" for i in range(0, 40, 2)]
    assert set(log.check_events(ids).status.values()) == {"verified"}
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(db.access_events).where(db.access_events.c.event_id == "ev-00004")
                     .values(justification="nothing to see"))
    status = log.check_events(ids).status
    assert status["ev-00004"] == "altered"
    assert {v for k, v in status.items() if k != "ev-00004"} == {"verified"}


def test_the_consistency_check_recomputes_entries_from_the_stored_rows(tmp_path):
    log, engine = make_log(tmp_path)
    stored = log.latest_checkpoint().text
    assert log.consistency(stored).recomputed == 40
    unlock(engine)
    with engine.begin() as conn:
        conn.execute(sa.update(db.access_events).where(db.access_events.c.event_id == "ev-00007")
                     .values(record_count=0))
    with pytest.raises(AuditError, match="first changed or missing entry: 7"):
        log.consistency(stored)


def test_a_stored_checkpoint_with_a_byte_order_mark_crlf_or_trailing_newline_is_the_same_checkpoint(tmp_path):
    log, _ = make_log(tmp_path)
    text = log.latest_checkpoint().text
    for variant in ("\ufeff" + text, text + "\n", text.replace("\n", "\r\n"), text + "\n\n"):
        assert log.consistency(variant).old_size == 40


@pytest.mark.parametrize("upload", ["", "hello\n", "telemetry-portal.example/access-log\n40\n", "\x00\x01"])
def test_a_malformed_upload_is_not_a_checkpoint(tmp_path, upload):
    log, _ = make_log(tmp_path)
    with pytest.raises(NotACheckpoint):
        log.consistency(upload)


def test_rows_committed_but_never_logged_fail_verification_unless_verify_logs_and_signs_them_first(tmp_path):
    log, engine = make_log(tmp_path)
    add_events(engine, 7, start=500)  # as if an ingest was stopped after its commit, before logging
    report = log.verify(log_pending=False)
    assert not report.ok and "7 access rows are in the database but not in the log" in report.describe()
    report = log.verify()
    assert report.ok and report.describe().startswith("7 rows that were in the database but not yet in the log "
                                                      "were logged and signed first.")
    assert log.latest_checkpoint().size == 47


def test_the_access_page_warns_instead_of_saying_verified_when_a_read_does_not_match_the_log():
    from portal.audit.log_integrity import ALTERED, Inclusion

    found = {"a": "verified", "b": "altered", "c": "verified"}
    inclusion = Inclusion(included=2, pending=0, checkpoint_size=40, by_event=found, altered=1)
    assert not inclusion.verified
    assert inclusion.sentence().startswith("Warning: 1 of these reads do NOT match the signed access log")
    assert [inclusion.status(e) for e in "abc"] == ["verified", ALTERED, "verified"]
    assert Inclusion(2, 0, 40, {"a": "verified", "c": "verified"}).sentence().startswith(
        "Verified: each of the 2 reads shown was recomputed from its stored record")
