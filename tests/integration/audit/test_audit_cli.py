"""`portal audit ...` on a small seeded company."""

import json

import pytest
import sqlalchemy as sa

from portal.core import db
from portal.demo import seed as demo
from portal.audit.signed_log import AuditLog
from portal.cli import main
from tests.conftest import make_settings
from tests.integration.audit.test_access_events import event


@pytest.fixture
def company(tmp_path, monkeypatch):
    settings = make_settings(tmp_path / "data")
    demo.seed(settings, employees=20, days=5, seed=3)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    return settings


def test_checkpoint_then_verify_succeeds(company, capsys, tmp_path):
    assert main(["audit", "checkpoint", "--out", str(tmp_path / "cp.txt")]) == 0
    assert "\u2014 " in (tmp_path / "cp.txt").read_text()
    assert main(["audit", "verify"]) == 0
    assert "the log is intact" in capsys.readouterr().out


def test_verify_names_the_first_bad_entry_and_exits_non_zero(company, capsys):
    main(["audit", "checkpoint"])
    engine = db.make_engine(company.resolved_database_url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER access_events_no_update"))
        conn.execute(sa.text("UPDATE access_events SET purpose_code = NULL WHERE seq = 5"))
    capsys.readouterr()
    assert main(["audit", "verify"]) == 1
    assert "first bad entry: 4" in capsys.readouterr().out


def test_consistency_with_an_earlier_checkpoint(company, capsys, tmp_path):
    main(["audit", "checkpoint", "--out", str(tmp_path / "old.txt")])
    assert main(["audit", "consistency", str(tmp_path / "old.txt")]) == 0
    assert "Consistent" in capsys.readouterr().out


def test_a_malformed_or_foreign_checkpoint_is_not_a_checkpoint_rather_than_not_consistent(company, capsys, tmp_path):
    (tmp_path / "bad.txt").write_text("example.org/log\n3\nAAAA\n\n\u2014 someone AAAA\n")
    assert main(["audit", "consistency", str(tmp_path / "bad.txt")]) == 2
    out, err = capsys.readouterr()
    assert "is not a checkpoint of this log" in err and "NOT CONSISTENT" not in out


def test_a_missing_checkpoint_file_is_named(company, capsys):
    assert main(["audit", "consistency", "/nonexistent/cp.txt"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_proof_bundle_verifies_offline_and_a_truncated_one_does_not(company, capsys, tmp_path):
    main(["audit", "checkpoint"])
    engine = db.make_engine(company.resolved_database_url)
    with engine.connect() as conn:
        pseudonym = conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                                 .where(db.pseudonyms.c.employee_id == "E00001")).scalar()
    bundle = AuditLog(company, engine).proof_bundle(pseudonym)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    assert main(["audit", "verify-proof", str(path)]) == 0
    path.write_text(json.dumps(bundle)[:-40])
    assert main(["audit", "verify-proof", str(path)]) == 1
    assert "NOT VERIFIED" in capsys.readouterr().out


def _bundle_of(company, employee_id="E00001"):
    engine = db.make_engine(company.resolved_database_url)
    with engine.connect() as conn:
        pseudonym = conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                                 .where(db.pseudonyms.c.employee_id == employee_id)).scalar()
    bundle = AuditLog(company, engine).proof_bundle(pseudonym)
    engine.dispose()
    return bundle


def test_verify_proof_offline_needs_a_pinned_key_and_names_the_key_that_verified(company, capsys, tmp_path,
                                                                                  monkeypatch):
    main(["audit", "checkpoint"])
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(_bundle_of(company)))
    capsys.readouterr()
    assert main(["audit", "public-key"]) == 0
    key_file = tmp_path / "log-key.txt"
    key_file.write_text(capsys.readouterr().out)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "elsewhere"))  # a machine without the portal's data
    assert main(["audit", "verify-proof", str(path)]) == 2
    assert "--key FILE" in capsys.readouterr().err
    assert main(["audit", "verify-proof", str(path), "--key", str(key_file)]) == 0
    out = capsys.readouterr().out
    name, key_id = key_file.read_text().strip().split("+")[:2]
    assert out.startswith(f"Verified with key {name} (key id {key_id}, the key in {key_file})")


def test_a_bundle_forged_with_a_fresh_key_does_not_verify_on_the_command_line(company, capsys, tmp_path):
    from portal.audit import checkpoint as cp

    forger = cp.generate_keypair(tmp_path / "forger", "telemetry-portal.example/access-log")
    forged = {**_bundle_of(company), "entries": [], "verifier_key": forger.verifier_key,
              "checkpoint": forger.sign_checkpoint("telemetry-portal.example/access-log", 3, bytes(32))}
    path = tmp_path / "forged.json"
    path.write_text(json.dumps(forged))
    assert main(["audit", "verify-proof", str(path)]) == 1  # against this deployment's own key
    out = capsys.readouterr().out
    assert "NOT VERIFIED" in out and "signed with another key" in out and "Verified" not in out.replace("NOT VERIFIED", "")


def test_the_privacy_office_writes_a_persons_proof_bundle_and_the_person_sees_the_read(company, capsys, tmp_path):
    out_file = tmp_path / "alice-proofs.json"
    assert main(["audit", "proof", "alice@example.com", "--out", str(out_file), "--reason", "REQ-1234 asked"]) == 0
    assert out_file.stat().st_mode & 0o777 == 0o600
    bundle = json.loads(out_file.read_text())
    engine = db.make_engine(company.resolved_database_url)
    e = db.access_events.c
    with engine.connect() as conn:
        alice = conn.execute(sa.select(db.pseudonyms.c.pseudonym)
                             .where(db.pseudonyms.c.employee_id == "E00001")).scalar()
        recorded = conn.execute(sa.select(e.event_id, e.justification, e.action)
                                .where(e.subject_pseudonym == alice, e.justification == "REQ-1234 asked")).all()
        total = conn.execute(sa.select(sa.func.count()).where(e.subject_pseudonym == alice)).scalar()
    engine.dispose()
    assert recorded and {r.action for r in recorded} == {"export"}
    assert len(bundle["entries"]) == total  # the bundle proves the read that made it, too
    entries = [json.loads(__import__("base64").b64decode(item["entry"])) for item in bundle["entries"]]
    assert {r.event_id for r in recorded} <= {entry["event_id"] for entry in entries}
    capsys.readouterr()
    assert main(["audit", "verify-proof", str(out_file)]) == 0
    assert main(["audit", "proof", "alice@example.com", "--out", str(out_file), "--reason", "again"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["audit", "proof", "nobody@example.com", "--out", str(tmp_path / "x.json"), "--reason", "r"]) == 2


def test_an_ingest_with_nothing_new_still_logs_rows_a_stopped_run_left_outside_the_log(company, capsys, tmp_path):
    from portal.audit import access_events

    engine = db.make_engine(company.resolved_database_url)
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(event(7, subject="E00002")) + "\n")
    report = access_events.ingest_access(engine, str(events))  # committed; the command was stopped before logging
    assert report.added == 1
    assert not AuditLog(company, engine).verify(log_pending=False).ok
    assert main(["ingest", "access", str(events)]) == 0
    assert "Logged 1 new entries" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert capsys.readouterr().out.startswith("Verified")  # nothing left to log first
    engine.dispose()
