"""Bad input on the command line ends in a message naming what is wrong and exit 2, never a traceback,
and nothing is written: dates at the ends of time, JSON nested thousands of levels deep, directories and
endless devices where a file belongs, numbers beyond what a database stores, settings out of range."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import access_events

from portal.core import line_input
from portal import bootstrap, cli
from portal.core import catalog, db
from portal.demo import seed as demo
from portal.council import grants
from portal.lineage import openlineage as lineage
from portal.core.line_input import IngestRejected
from portal.core.settings import load_settings
from tests.conftest import make_settings
from tests.integration.audit.test_access_events import event, lines, sqlite_engine

YEAR_ONE = "0001-01-01T00:00:00+01:00"
END_OF_TIME = "9999-12-31T23:59:59-01:00"
DEEP = "[" * 8000 + "]" * 8000
TRANSCRIPTS = "user.content.private.meeting_transcript"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    """A small seeded company; every test here must leave it as it was."""
    settings = make_settings(tmp_path_factory.mktemp("company") / "data")
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


def counts(engine) -> dict[str, int]:
    """Rows of every table a refused command could have written to."""
    tables = (db.access_events, db.actors, db.grants, db.datasets, db.dataset_members, db.log_entries,
              db.log_checkpoints, db.privacy_requests)
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}


def recent(**changes) -> dict:
    return event(1, **({"time": (datetime.now(UTC) - timedelta(hours=1)).isoformat()} | changes))


def run_event(time: str) -> dict:
    return {"eventType": "COMPLETE", "eventTime": time, "producer": "https://example.com/pipelines",
            "run": {"runId": str(uuid.UUID(int=7))}, "job": {"namespace": "ml-platform", "name": "build-corpus"},
            "inputs": [{"namespace": "delta://lake", "name": "lake/transcript_segments"}],
            "outputs": [{"namespace": "ml-platform", "name": "corpus", "facets": {
                "version": {"datasetVersion": "v1"}, "telemetryPortal": {"purpose": "train_ai_system"}}}]}


def grant(**changes) -> dict:
    base = {"principal": "svc:meet-assist", "kind": "service", "category": TRANSCRIPTS, "granted_by": "IAM-1",
            "granted_at": "2026-01-01T00:00:00Z"}
    return base | changes


def write(path, *objects) -> str:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects))
    return str(path)


# ---- dates at the ends of time --------------------------------------------------------------------------------


@pytest.mark.parametrize("moment", [YEAR_ONE, "0001-01-01T12:00:00Z"])
def test_an_event_dated_year_one_is_refused_naming_the_line_and_field(company, portal, tmp_path, moment):
    before = counts(company[1])
    code, _, err = portal("ingest", "access", write(tmp_path / "e.jsonl", recent(), recent(event_id="ev-2",
                                                                                           time=moment)))
    assert code == 2
    assert f"line 2: time: {moment} is before" in err and "older than 1,095 days" in err
    assert "nothing was written" in err and counts(company[1]) == before


def test_an_event_at_the_end_of_time_is_refused_as_in_the_future_naming_the_line_and_field(company, portal,
                                                                                          tmp_path):
    before = counts(company[1])
    code, _, err = portal("ingest", "access", write(tmp_path / "e.jsonl", recent(time=END_OF_TIME)))
    assert code == 2 and f"line 1: time: {END_OF_TIME} is in the future" in err
    assert "at most 5 minutes ahead" in err and counts(company[1]) == before


def test_events_are_accepted_within_the_retention_horizon_and_the_clock_skew_and_refused_just_outside(tmp_path):
    engine = sqlite_engine(tmp_path)
    horizon, skew = line_input.RETENTION_HORIZON, line_input.CLOCK_SKEW
    assert horizon == timedelta(days=max(c.retention_days for c in catalog.CATEGORIES))
    inside = [event(1, time=(NOW - horizon + timedelta(minutes=1)).isoformat()),
              event(2, time=(NOW + skew - timedelta(seconds=1)).isoformat())]
    assert access_events.ingest_access(engine, lines(*inside), now=NOW).added == 2
    outside = [event(3, time=(NOW - horizon - timedelta(minutes=1)).isoformat()),
               event(4, time=(NOW + skew + timedelta(seconds=1)).isoformat())]
    with pytest.raises(IngestRejected) as caught:
        access_events.ingest_access(engine, lines(*outside), now=NOW)
    assert [(p.line, p.field) for p in caught.value.problems] == [(1, "time"), (2, "time")]
    engine.dispose()


@pytest.mark.parametrize(("moment", "message"), [(YEAR_ONE, "is before"), (END_OF_TIME, "is in the future")])
def test_a_lineage_run_dated_at_either_end_of_time_is_refused_naming_the_line_and_field(company, portal, tmp_path,
                                                                                      moment, message):
    before = counts(company[1])
    code, _, err = portal("ingest", "lineage", write(tmp_path / "runs.jsonl", run_event(moment)))
    assert code == 2 and f"line 1: eventTime: {moment} {message}" in err
    assert "nothing was written" in err and counts(company[1]) == before


@pytest.mark.parametrize(("changes", "message"), [
    ({"granted_at": YEAR_ONE}, f"line 1: granted_at: {YEAR_ONE} is before 1970-01-01"),
    ({"granted_at": END_OF_TIME}, f"line 1: granted_at: {END_OF_TIME} is in the future"),
    ({"expires_at": END_OF_TIME}, "line 1: expires_at: '9999-12-31T23:59:59-01:00' is beyond the dates"),
], ids=["granted in year one", "granted at the end of time", "expiring at the end of time"])
def test_a_grant_dated_at_either_end_of_time_is_refused_naming_the_line_and_field(company, portal, tmp_path, changes,
                                                                                message):
    before = counts(company[1])
    code, _, err = portal("ingest", "grants", write(tmp_path / "g.jsonl", grant(**changes)))
    assert code == 2 and message in err and counts(company[1]) == before


def test_a_grant_older_than_the_telemetry_it_opens_is_still_a_grant(tmp_path):
    engine = sqlite_engine(tmp_path)
    report = grants.ingest_grants(engine, [json.dumps(grant(granted_at="2012-05-01T00:00:00Z"))], now=NOW)
    assert report.added == 1
    engine.dispose()


# ---- JSON nested 8,000 levels deep ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["access", "lineage", "grants"])
def test_json_nested_eight_thousand_levels_is_refused_by_every_ingest_naming_the_line(company, portal, tmp_path,
                                                                                     kind):
    before = counts(company[1])
    path = tmp_path / "deep.jsonl"
    path.write_text(DEEP + "\n")
    code, _, err = portal("ingest", kind, str(path))
    assert code == 2 and "line 1: is nested more than 64 levels deep" in err
    assert "nothing was written" in err and counts(company[1]) == before


@pytest.mark.parametrize("command", [("receipt", "verify"), ("audit", "verify-proof")])
def test_json_nested_eight_thousand_levels_is_unusable_input_for_the_verifiers(portal, tmp_path, command):
    path = tmp_path / "deep.json"
    path.write_text('{"format": ' + DEEP + "}")
    code, _, err = portal(*command, str(path))
    assert code == 2 and f"{path}" in err and "nested more than 64 levels deep" in err


def test_a_number_of_thousands_of_digits_is_a_problem_of_its_line(company, portal, tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps(recent())[:-1] + ', "extra": ' + "9" * 5000 + "}\n")
    code, _, err = portal("ingest", "access", str(path))
    assert code == 2 and "line 1: is not JSON (it holds a number of more digits than the portal reads)" in err


# ---- a directory, a device or an unreadable file where a file belongs --------------------------------------------


def _receipt(company, tmp_path) -> str:
    _, engine = company
    with engine.connect() as conn:
        request_id = conn.execute(sa.select(db.receipts.c.request_id).limit(1)).scalar_one()
    target = tmp_path / "receipt.json"
    assert cli.main(["requests", "receipt", request_id, "--out", str(target)]) == 0
    return str(target)


@pytest.mark.parametrize(("argv", "message"), [
    (["ingest", "access", "{dir}"], "the file {dir} is a directory, not a file"),
    (["ingest", "grants", "--format", "jsonl", "{dir}"], "the file {dir} is a directory, not a file"),
    (["ingest", "grants", "--format", "csv", "{dir}"], "the file {dir} is a directory, not a file"),
    (["ingest", "lineage", "{dir}"], "the file {dir} is a directory, not a file"),
    (["ingest", "lineage", "{runs}", "--members", "corpus@v1={dir}"], "the manifest {dir} is a directory"),
    (["receipt", "verify", "{dir}"], "the receipt {dir} is a directory, not a file"),
    (["receipt", "verify", "{receipt}", "--key", "{dir}"], "the key file {dir} is a directory, not a file"),
    (["audit", "verify-proof", "{dir}"], "bundle {dir} is a directory, not a file"),
    (["audit", "verify-proof", "{receipt}", "--key", "{dir}"], "key file {dir} is a directory, not a file"),
    (["audit", "consistency", "{dir}"], "checkpoint file {dir} is a directory, not a file"),
    (["check-dataset", "{dir}", "--purpose", "train_ai_system"], "cannot read the manifest {dir}: Is a directory"),
    (["export", "E00001", "--out", "{dir}", "--reason", "REQ-1", "--force"], "--out {dir} is a directory"),
    (["audit", "proof", "E00001", "--out", "{dir}", "--reason", "REQ-1", "--force"], "--out {dir} is a directory"),
    (["audit", "checkpoint", "--out", "{dir}"], "--out {dir} is a directory; name a file"),
    (["optouts", "export", "--out", "{dir}"], "cannot write {dir}: Is a directory"),
    (["requests", "receipt", "{request}", "--out", "{dir}", "--force"], "cannot write {dir}"),
], ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_a_directory_given_where_a_file_belongs_is_named_with_exit_2(company, portal, tmp_path, argv, message):
    folder = tmp_path / "a-folder.csv"
    folder.mkdir()
    runs = write(tmp_path / "runs.jsonl", run_event((datetime.now(UTC) - timedelta(days=1)).isoformat()))
    receipt = _receipt(company, tmp_path)
    request = json.loads((tmp_path / "receipt.json").read_text())["request_id"]
    values = {"dir": str(folder), "runs": runs, "receipt": receipt, "request": request}
    before = counts(company[1])
    code, _, err = portal(*(a.format(**values) for a in argv))
    assert code == 2 and message.format(**values) in err
    assert counts(company[1]) == before and list(folder.iterdir()) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["ingest", "access", "/dev/zero"], "line 1: the input passes the limit of 536,870,912 bytes here"),
    (["ingest", "grants", "--format", "csv", "/dev/zero"], "/dev/zero holds more than the limit of 67,108,864 bytes"),
    (["receipt", "verify", "/dev/zero"], "the receipt /dev/zero holds more than the limit of 4,194,304 bytes"),
    (["audit", "verify-proof", "/dev/zero"], "bundle /dev/zero holds more than the limit of 52,428,800 bytes"),
], ids=["ingest access", "ingest grants", "receipt verify", "audit verify-proof"])
def test_an_endless_device_is_cut_at_the_size_limit_while_reading(company, portal, argv, message):
    before = counts(company[1])
    code, _, err = portal(*argv)
    assert code == 2 and message in err and counts(company[1]) == before


def test_an_endless_stream_into_the_ingest_stops_at_the_limit_it_was_given(tmp_path):
    engine = sqlite_engine(tmp_path)
    with pytest.raises(IngestRejected, match="passes the limit of 100,000 bytes"):
        access_events.ingest_access(engine, "/dev/zero", now=NOW, max_file_bytes=100_000)
    with pytest.raises(IngestRejected, match="the manifest holds more than the limit of 100,000 bytes"):
        lineage.ingest_lineage(engine, [json.dumps(run_event(NOW.isoformat()))],
                               [lineage.Manifest("corpus", "v1", _fifo_named_csv(tmp_path))],
                               max_file_bytes=100_000, now=NOW)
    engine.dispose()


def _fifo_named_csv(tmp_path):
    """A manifest path that is a character device in disguise: /dev/zero, reached through a symlink."""
    link = tmp_path / "members.csv"
    link.symlink_to("/dev/zero")
    return link


def test_a_key_file_that_is_not_utf8_is_named(company, portal, tmp_path):
    key = tmp_path / "key.pub"
    key.write_bytes(b"portal+\xff\xfe")
    code, _, err = portal("receipt", "verify", _receipt(company, tmp_path), "--key", str(key))
    assert code == 2 and f"the key file {key} is not UTF-8 text (byte 8)" in err


# ---- numbers, text and settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize("index", ["99999999999999999999", "-1", "9223372036854775808"])
def test_an_audit_index_beyond_what_the_database_stores_is_refused_with_exit_2(portal, capsys, index):
    with pytest.raises(SystemExit) as caught:
        cli.main(["audit", "show", index])
    assert caught.value.code == 2
    assert f"argument INDEX: must be between 0 and 9,223,372,036,854,775,807 (got {index})" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [
    ["audit", "list"], ["audit", "verify"], ["audit", "checkpoint"], ["ingest", "access", "{events}"],
    ["export", "E00001", "--out", "{out}", "--reason", "REQ-1"], ["requests", "list"],
], ids=lambda v: " ".join(v[:2]))
def test_a_changed_log_origin_stops_every_command_naming_the_setting(company, portal, monkeypatch, tmp_path, argv):
    monkeypatch.setenv("PORTAL_LOG_ORIGIN", "elsewhere.example/log")
    values = {"events": write(tmp_path / "e.jsonl", recent()), "out": str(tmp_path / "copy.zip")}
    before = counts(company[1])
    code, _, err = portal(*(a.format(**values) for a in argv))
    assert code == 2
    assert ("PORTAL_LOG_ORIGIN is 'elsewhere.example/log', but the access log's checkpoints are signed for the "
            "origin 'telemetry-portal.example/access-log'") in err
    assert counts(company[1]) == before and not (tmp_path / "copy.zip").exists()


def test_a_changed_log_origin_stops_the_portal_with_the_setting_named_on_every_page(company, monkeypatch):
    settings, _ = company
    changed = make_settings(settings.data_dir, log_origin="elsewhere.example/log")
    with pytest.raises(bootstrap.BootstrapError, match="PORTAL_LOG_ORIGIN is 'elsewhere.example/log'"):
        bootstrap.build(changed)
    bootstrap.build(settings).engine.dispose()  # the origin the log was signed with still opens it


@pytest.mark.parametrize(("env", "value", "message"), [
    ("PORTAL_MAX_SESSION_HOURS", "nan", "PORTAL_MAX_SESSION_HOURS: Value error, must be more than 0 and at most 168"),
    ("PORTAL_MAX_SESSION_HOURS", "inf", "PORTAL_MAX_SESSION_HOURS"),
    ("PORTAL_MAX_SESSION_HOURS", "-2", "PORTAL_MAX_SESSION_HOURS"),
    ("PORTAL_DP_EPSILON", "1e-300", "PORTAL_DP_EPSILON: Value error, must be a positive number from 0.01 to 10"),
    ("PORTAL_K_ANONYMITY", "1" + "0" * 24, "PORTAL_K_ANONYMITY"),
    ("PORTAL_DATABASE_URL", "foo", "PORTAL_DATABASE_URL"),
    ("PORTAL_DATA_DIR", "/etc/hostname", "PORTAL_DATA_DIR"),
], ids=lambda v: v if isinstance(v, str) and v.startswith("PORTAL") else None)
def test_a_setting_out_of_range_stops_the_command_naming_the_variable(portal, monkeypatch, env, value, message):
    monkeypatch.setenv(env, value)
    code, out, err = portal("aggregates")
    assert code == 2 and message in err and out == ""


def test_an_epsilon_at_the_lower_bound_gives_figures_not_absurd_counts(portal, monkeypatch):
    monkeypatch.setenv("PORTAL_DP_EPSILON", "0.01")
    code, out, _ = portal("aggregates")
    assert code == 0
    assert all(abs(cell["people"]) < 2**31 for cell in json.loads(out) if cell["people"] is not None)
    assert load_settings().dp_epsilon == 0.01


def test_an_argument_that_is_not_utf8_is_named_and_nothing_is_recorded(company, portal, tmp_path):
    before = counts(company[1])
    for argv in (["export", "E00001", "--out", str(tmp_path / "c.zip"), "--reason", "REQ-\udcff"],
                 ["requests", "file", "--subject", "E00001", "--kind", "erasure", "--details", "\udcff"],
                 ["requests", "show", "REQ-\udcff"]):
        code, _, err = portal(*argv)
        assert code == 2 and "is not valid UTF-8 text" in err
    assert counts(company[1]) == before


def test_a_reason_longer_than_the_access_record_holds_is_refused_before_anything_is_read(company, portal, tmp_path):
    before = counts(company[1])
    code, _, err = portal("export", "E00001", "--out", str(tmp_path / "c.zip"), "--reason", "x" * 4001)
    assert code == 2 and "--reason is 4,001 characters long; at most 4,000 are kept" in err
    assert counts(company[1]) == before and not (tmp_path / "c.zip").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["seed", "--employees", "5", "--days", "1000000", "--force"], "argument --days: must be from 1 to 1,095"),
    (["seed", "--employees", "5", "--seed", "-1", "--force"], "argument --seed: must be from 0"),
    (["seed", "--employees", "1000000", "--force"], "argument --employees: must be from 1 to 100,000"),
    (["demo", "--port", "99999999"], "argument --port: must be from 1 to 65,535"),
], ids=["days", "seed", "employees", "port"])
def test_a_demo_option_out_of_range_is_refused_before_the_data_directory_is_touched(company, portal, capsys, argv,
                                                                                   message):
    before = counts(company[1])
    with pytest.raises(SystemExit) as caught:
        cli.main(argv)
    assert caught.value.code == 2 and message in capsys.readouterr().err
    assert counts(company[1]) == before
