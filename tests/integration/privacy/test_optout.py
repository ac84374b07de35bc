"""Objections and the dataset gate: an objection or an erasure keeps the person out of every future
dataset in scope, the registry export lists who objected, and bad manifests are refused clearly."""

from __future__ import annotations

import csv
import json

import polars as pl
import pytest
import sqlalchemy as sa

from portal import cli
from portal.core import db
from portal.privacy import erasure, optout
from portal.identity.policy import PermissionDenied
from portal.privacy.request_states import Status
from tests.integration.privacy.test_erasure import ALICE_ID, company, template  # noqa: F401 - fixtures

KEYSTROKES = "user.behavior.keystrokes"
TRANSCRIPTS = "user.content.private.meeting_transcript"


def carry_out(company, kind="objection", **kw) -> str:
    request_id = company.approved(kind, **kw)
    erasure.execute(company.engine, company.store, company.priya, request_id)
    return request_id


def gate(company, tmp_path, rows, purpose="train_ai_system", categories=None, fmt="csv") -> optout.GateResult:
    path = tmp_path / f"manifest.{fmt}"
    frame = pl.DataFrame(rows)
    frame.write_parquet(path) if fmt == "parquet" else frame.write_csv(path)
    return optout.check_dataset(company.engine, company.services.settings.data_dir, path, purpose, categories)


def run_cli(company, monkeypatch, capsys, *argv) -> tuple[int, str, str]:
    monkeypatch.setenv("PORTAL_DATA_DIR", str(company.services.settings.data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_an_objection_to_ai_training_is_recorded_and_flags_the_datasets_that_include_the_person(company):
    request_id = carry_out(company, purpose="train_ai_system")
    assert company.status(request_id) == Status.COMPLETED
    with company.engine.connect() as conn:
        [objection] = optout.objections(conn, ALICE_ID)
        statuses = set(conn.execute(sa.select(db.datasets.c.status)).scalars())
    assert (objection.purpose_code, objection.category_key, objection.request_id) == ("train_ai_system", None,
                                                                                      request_id)
    assert statuses == {erasure.REBUILD_PENDING}  # every demo dataset is for AI training and includes Alice
    assert optout.excluded_subjects(company.engine, "train_ai_system") == {ALICE_ID}
    assert optout.excluded_subjects(company.engine, "analytics.reporting.productivity") == set()


def test_an_objection_to_one_category_flags_only_datasets_drawing_on_it(company):
    carry_out(company, categories=[TRANSCRIPTS])
    with company.engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(db.datasets.c.dataset_id, db.datasets.c.status)).all())
    assert {k for k, v in statuses.items() if v == erasure.REBUILD_PENDING} == {
        "meeting-assistant-corpus-v1", "meeting-assistant-corpus-v2"}
    assert optout.excluded_subjects(company.engine, "analytics.reporting.productivity", (TRANSCRIPTS,)) == {ALICE_ID}
    assert optout.excluded_subjects(company.engine, "analytics.reporting.productivity", (KEYSTROKES,)) == set()


def test_the_registry_export_lists_each_objection_with_subject_scope_and_since(company, monkeypatch, capsys,
                                                                                 tmp_path):
    first = carry_out(company, purpose="train_ai_system")
    second = carry_out(company, categories=[KEYSTROKES])
    code, out, _ = run_cli(company, monkeypatch, capsys, "optouts", "export")
    assert code == 0
    rows = list(csv.DictReader(out.splitlines()))
    assert [(r["subject_id"], r["purpose"], r["category"], r["request_id"]) for r in rows] == [
        (ALICE_ID, "train_ai_system", "", first), (ALICE_ID, "", KEYSTROKES, second)]
    assert all(r["since"].endswith("Z") and len(r["since"]) == 20 for r in rows)
    target = tmp_path / "optouts.json"
    code, _, err = run_cli(company, monkeypatch, capsys, "optouts", "export", "--format", "json", "--out", str(target))
    assert code == 0 and "2 active objection(s)" in err
    listed = json.loads(target.read_text())
    assert [(r["subject_id"], r["purpose"], r["category"]) for r in listed] == [
        (ALICE_ID, "train_ai_system", None), (ALICE_ID, None, KEYSTROKES)]


def test_the_registry_is_for_the_privacy_office_only(company):
    with pytest.raises(PermissionDenied):
        optout.optout_frame(company.engine, company.alice)


# ---- the gate --------------------------------------------------------------------------------------


def test_the_gate_refuses_a_training_set_that_still_includes_someone_who_objected(company, tmp_path):
    carry_out(company, purpose="train_ai_system")
    result = gate(company, tmp_path, {"subject_id": ["E00002", "alice@example.com", "E00003"]})
    assert not result.clean and result.subjects == 3
    [offender] = result.offenders
    assert offender.subject == "alice@example.com" and "objected to Training AI systems since" in offender.line()
    assert gate(company, tmp_path, {"subject_id": ["E00001"]}, purpose="analytics.reporting.productivity").clean


def test_the_gate_follows_the_categories_in_scope(company, tmp_path):
    carry_out(company, categories=[TRANSCRIPTS])
    purpose = "analytics.reporting.productivity"
    rows = {"subject_id": [ALICE_ID, ALICE_ID, "E00002"], "category": [KEYSTROKES, TRANSCRIPTS, TRANSCRIPTS]}
    assert [o.subject for o in gate(company, tmp_path, rows, purpose).offenders] == [ALICE_ID]
    assert gate(company, tmp_path, {"subject_id": [ALICE_ID]}, purpose, (KEYSTROKES,)).clean
    assert not gate(company, tmp_path, {"subject_id": [ALICE_ID]}, purpose, (TRANSCRIPTS,)).clean
    assert not gate(company, tmp_path, {"subject_id": [ALICE_ID]}, purpose).clean  # unknown scope: refused


def test_the_gate_recognises_an_erased_person_by_salted_hash_only(company, tmp_path):
    carry_out(company, "erasure")
    with company.engine.connect() as conn:
        stored = json.dumps([list(r) for r in conn.execute(sa.select(db.erasure_tombstones)).all()], default=str)
    assert ALICE_ID not in stored and "alice" not in stored
    for fmt in ("csv", "parquet"):
        result = gate(company, tmp_path, {"subject_id": ["E00002", "alice"]}, purpose="legal.compliance", fmt=fmt)
        assert [o.subject for o in result.offenders] == ["alice"]
        assert "erased (all telemetry) on" in result.offenders[0].line()


def test_the_gate_command_exits_zero_when_clean_and_one_naming_each_offender(company, monkeypatch, capsys,
                                                                             tmp_path):
    manifest = tmp_path / "train.csv"
    manifest.write_text("subject_id,record_count\nE00001,5\nE00002,7\n")
    code, out, _ = run_cli(company, monkeypatch, capsys, "check-dataset", str(manifest), "--purpose", "train_ai_system")
    assert code == 0 and "clean" in out
    carry_out(company, purpose="train_ai_system")
    code, _, err = run_cli(company, monkeypatch, capsys, "check-dataset", str(manifest), "--purpose", "train_ai_system")
    assert code == 1
    assert "REFUSED" in err and "E00001: objected to Training AI systems" in err and "E00002" not in err


@pytest.mark.parametrize(("content", "message"), [
    (b"", "is empty"),
    (b"subject,record_count\nE00001,1\n", "has no subject_id column (columns: subject, record_count)"),
    (b"subject_id\n", "holds no rows"),
    (b"subject_id,n\nE00001,1\n,2\n  ,3\n", "without a subject_id (data row(s) 2, 3)"),
    (b"PK\x03\x04\x00\x00binary zip", "neither CSV nor Parquet"),
    (b"PAR1 truncated parquet", "neither readable CSV nor Parquet"),
    (b"subject_id,category\nE00001,user.behavior.mind\n", "unknown category user.behavior.mind"),
], ids=["empty", "no column", "header only", "blank subject", "binary", "broken parquet", "unknown category"])
def test_a_bad_manifest_is_refused_with_exit_2_and_the_problem_named(company, monkeypatch, capsys, tmp_path, content,
                                                                     message):
    manifest = tmp_path / "manifest.bin"
    manifest.write_bytes(content)
    code, out, err = run_cli(company, monkeypatch, capsys, "check-dataset", str(manifest), "--purpose",
                             "train_ai_system")
    assert code == 2 and message in err and "Traceback" not in err + out


def test_an_unknown_purpose_or_missing_manifest_is_refused_with_exit_2(company, monkeypatch, capsys, tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text("subject_id\nE00001\n")
    code, _, err = run_cli(company, monkeypatch, capsys, "check-dataset", str(manifest), "--purpose", "vibes")
    assert code == 2 and "unknown purpose 'vibes'" in err
    code, _, err = run_cli(company, monkeypatch, capsys, "check-dataset", str(tmp_path / "nope.csv"), "--purpose",
                           "train_ai_system")
    assert code == 2 and "cannot read the manifest" in err


def test_the_tombstone_salt_is_refused_when_others_can_read_it(tmp_path):
    optout.salt(tmp_path)
    (tmp_path / optout.SALT_FILE).chmod(0o644)
    with pytest.raises(optout.OptOutError, match="lets other users read"):
        optout.salt(tmp_path)



PERFORMANCE = "user.workplace.performance"


def test_an_objection_to_performance_records_keeps_them_out_of_ai_training_but_not_performance_management(company):
    """Performance management rests on the employment contract; training AI on the same records on legitimate
    interests: the catalog's per-purpose bases make only the latter objectionable."""
    carry_out(company, categories=[PERFORMANCE])
    assert optout.excluded_subjects(company.engine, "train_ai_system", (PERFORMANCE,)) == {ALICE_ID}
    assert optout.excluded_subjects(company.engine, "employment.performance_management", (PERFORMANCE,)) == set()


def test_the_training_set_gate_names_a_person_who_objected_to_training_on_their_performance_records(company, tmp_path):
    carry_out(company, categories=[PERFORMANCE])
    result = gate(company, tmp_path, [{"subject_id": ALICE_ID, "category": PERFORMANCE}])
    assert [o.subject for o in result.offenders] == [ALICE_ID]
    kept = gate(company, tmp_path, [{"subject_id": ALICE_ID, "category": PERFORMANCE}],
                purpose="employment.performance_management")
    assert kept.clean
