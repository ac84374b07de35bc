"""`portal audit ...` on a small seeded company."""

import json

import pytest
import sqlalchemy as sa

from portal import db, demo
from portal.audit_log import AuditLog
from portal.cli import main
from tests.conftest import make_settings


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


def test_consistency_with_a_foreign_checkpoint_fails_loudly(company, capsys, tmp_path):
    (tmp_path / "bad.txt").write_text("example.org/log\n3\nAAAA\n\n\u2014 someone AAAA\n")
    assert main(["audit", "consistency", str(tmp_path / "bad.txt")]) == 1
    assert "NOT CONSISTENT" in capsys.readouterr().out


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
