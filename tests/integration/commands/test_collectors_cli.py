"""``portal collectors``: the privacy office registers, the works council decides, each step signed into the log;
bad input gets one line naming the problem and exit 2."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from portal import cli
from portal.core import db
from portal.demo import seed as demo
from tests.conftest import make_settings

KEYSTROKES = "user.behavior.keystrokes"


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    settings = make_settings(tmp_path_factory.mktemp("collectors") / "data")
    demo.seed(settings, employees=20, days=5, seed=3)
    engine = db.make_engine(settings.resolved_database_url)
    yield settings, engine
    engine.dispose()


@pytest.fixture
def portal(company, monkeypatch, capsys):
    settings, _ = company
    monkeypatch.setenv("PORTAL_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        assert "Traceback" not in out + err
        return code, out, err

    return run


def registered(portal, name: str, *extra: str) -> dict:
    code, out, err = portal("collectors", "register", "--name", name, "--category", KEYSTROKES,
                            "--purposes", "essential.service.security,train_ai_system",
                            "--legal-basis", "GDPR Art. 6(1)(f) legitimate interests", "--retention-days", "90",
                            "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def logged_decisions(engine, name: str) -> int:
    d, e = db.collector_decisions.c, db.log_entries.c
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(db.log_entries).join(
            db.collector_decisions, sa.and_(e.source == "collector", e.source_seq == d.seq))
            .where(d.collector_name == name)).scalar_one()


def test_a_collector_is_registered_approved_suspended_and_resumed_on_the_command_line(company, portal):
    _, engine = company
    found = registered(portal, "endpoint-agent", "--agreement", "WA-2026-03",
                       "--description", "Counts keys per 15 minutes; never the keys.")
    assert (found["status"], found["purposes"], found["agreement"]) == (
        "pending", ["essential.service.security", "train_ai_system"], "WA-2026-03")
    code, out, _ = portal("collectors", "approve", "endpoint-agent", "--reason", "agreed in WA-2026-03")
    assert code == 0 and out == "endpoint-agent was approved; it is now approved.\n"
    assert portal("collectors", "suspend", "endpoint-agent", "--reason", "readable far too broadly")[0] == 0
    assert portal("collectors", "resume", "endpoint-agent", "--reason", "access narrowed")[0] == 0

    code, out, _ = portal("collectors", "show", "endpoint-agent", "--json")
    shown = json.loads(out)
    assert shown["status"] == "approved" and shown["status_reason"] == "access narrowed"
    assert [(h["event"], h["by"], h["actor"]) for h in shown["history"]] == [
        ("registered", "privacy_office", "svc:portal-cli"), ("approved", "works_council", "svc:portal-cli"),
        ("suspended", "works_council", "svc:portal-cli"), ("resumed", "works_council", "svc:portal-cli")]
    assert logged_decisions(engine, "endpoint-agent") == 4  # every step is in the signed log already
    code, out, _ = portal("audit", "verify")
    assert code == 0 and "intact" in out


def test_the_list_speaks_plainly_and_in_json_for_scripts(portal):
    registered(portal, "chat-archiver")
    portal("collectors", "suspend", "chat-archiver", "--reason", "no works agreement yet")
    code, out, _ = portal("collectors", "list")
    line = next(line for line in out.splitlines() if line.startswith("chat-archiver"))
    assert "suspended" in line and "refused by the works council on" in line and "no works agreement yet" in line
    code, out, _ = portal("collectors", "list", "--json")
    listed = {c["name"]: c for c in json.loads(out)}
    assert code == 0 and listed["chat-archiver"]["approved_at"] is None
    code, out, _ = portal("collectors", "show", "chat-archiver")
    assert code == 0 and "suspended  by works_council (svc:portal-cli): no works agreement yet" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("register", "--name", "x", "--category", "user.behavior.eye_tracking", "--purposes", "train_ai_system",
      "--legal-basis", "consent", "--retention-days", "9"), "unknown telemetry category 'user.behavior.eye_tracking'"),
    (("register", "--name", "x", "--category", KEYSTROKES, "--purposes", "legal.compliance", "--legal-basis",
      "consent", "--retention-days", "9"), "legal.compliance is not a purpose of Keystroke activity"),
    (("register", "--name", "x", "--category", KEYSTROKES, "--purposes", "train_ai_system", "--legal-basis",
      "consent", "--retention-days", "365"), "retention of 365 days is above the 180 days the catalog allows"),
    (("register", "--name", "**bold** <b>x</b>", "--category", KEYSTROKES, "--purposes", "train_ai_system",
      "--legal-basis", "consent", "--retention-days", "9"), "may hold only letters, digits"),
    (("approve", "nobody", "--reason", "fine"), "collector 'nobody' is not on the register"),
    (("approve", "dup-agent", "--reason", " "), "a reason is required: employees read it"),
    (("resume", "dup-agent", "--reason", "fine"), "collector 'dup-agent' is pending; it cannot be resumed"),
    (("register", "--name", "dup-agent", "--category", KEYSTROKES, "--purposes", "train_ai_system",
      "--legal-basis", "consent", "--retention-days", "9"), "collector 'dup-agent' is already on the register"),
], ids=["unknown category", "foreign purpose", "retention above the catalog", "markup in the name",
        "unknown collector", "blank reason", "resume pending", "duplicate"])
def test_bad_input_gets_one_line_naming_the_problem_and_exit_2(company, portal, argv, message):
    _, engine = company
    with engine.connect() as conn:
        known = conn.execute(sa.select(db.collectors.c.name).where(db.collectors.c.name == "dup-agent")).first()
    if known is None:
        registered(portal, "dup-agent")
    with engine.connect() as conn:
        before = conn.execute(sa.select(sa.func.count()).select_from(db.collector_decisions)).scalar_one()
    code, out, err = portal("collectors", *argv)
    assert code == 2 and out == ""
    assert err.startswith("portal collectors: ") and message in err and err.count("\n") == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(db.collector_decisions)).scalar_one() == before


def test_a_retention_of_zero_days_is_refused_by_the_parser_naming_the_value(portal, capsys):
    with pytest.raises(SystemExit) as exited:
        portal("collectors", "register", "--name", "x", "--category", KEYSTROKES, "--purposes", "train_ai_system",
               "--legal-basis", "consent", "--retention-days", "0")
    assert exited.value.code == 2
    assert "--retention-days: must be at least 1 (got 0)" in capsys.readouterr().err
