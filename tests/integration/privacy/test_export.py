"""The employee's copy: complete, nobody else's, spreadsheet-safe, streamed, and logged when others make it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import tempfile
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from portal.audit import my_access
from portal.audit import access_events
from portal.core import catalog, db
from portal import cli
from portal.privacy import export, optout, prepared_copy, privacy_requests
from portal.identity.policy import EMPLOYEE, PRIVACY_OFFICE, PermissionDenied
from portal.core.settings import load_settings
from portal.lake.telemetry import PARTITION_COLUMN, TelemetryStore
from tests.integration.audit.test_access_events import count, principal, sqlite_engine

ALICE = "E00001"
START = datetime(2026, 1, 1, tzinfo=UTC)


def make_store(data_dir: Path) -> TelemetryStore:
    store = TelemetryStore(load_settings(data_dir=data_dir, telemetry_buckets=4))
    store.create()
    return store


def rows_for(table: str, subjects: list[str], texts: list[str] | None = None, start: int = 0) -> pa.Table:
    """Schema-conforming rows, one per subject given, with ``texts`` in every string column when given."""
    schema = catalog.TABLE_SCHEMAS[table]
    n = len(subjects)
    columns = {}
    for field in schema:
        if field.name == PARTITION_COLUMN:
            continue
        if field.name == "subject_id":
            columns[field.name] = pa.array(subjects, pa.string())
        elif field.name == "ts":
            columns[field.name] = pa.array([START + timedelta(minutes=start + i) for i in range(n)], field.type)
        elif pa.types.is_string(field.type):
            columns[field.name] = pa.array(texts or [f"{field.name}-{start + i}" for i in range(n)], pa.string())
        elif pa.types.is_floating(field.type):
            columns[field.name] = pa.array(np.arange(start, start + n) / 3, field.type)
        else:
            columns[field.name] = pa.array(np.arange(start, start + n) % 1000, field.type)
    return pa.table(columns)


def brute_force(store: TelemetryStore, table: str, subject: str) -> list[dict]:
    """Every row of ``subject`` in the table's current version, read the slow and obvious way."""
    data = DeltaTable(store.lake_dir / table).to_pyarrow_table().to_pylist()
    return sorted(({k: v for k, v in r.items() if k != PARTITION_COLUMN} for r in data if r["subject_id"] == subject),
                  key=_key)


def _key(row: dict) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def copy_rows(archive: zipfile.ZipFile, table: str) -> list[dict]:
    rows = []
    # Split on newlines only: str.splitlines() would also split inside values at U+0085 or U+2028.
    for line in filter(None, archive.read(f"telemetry/{table}.jsonl").decode().split("\n")):
        row = json.loads(line)
        row["ts"] = datetime.fromisoformat(row["ts"])
        rows.append(row)
    return sorted(rows, key=_key)


def csv_rows(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


# ---- completeness: exactly the person's rows -------------------------------------------------

SUBJECTS = [ALICE, "E000010", "E0000", "e00001", f"{ALICE} ", "E00002"]  # near-misses of alice's id
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@st.composite
def lake_contents(draw):
    """For some catalog tables, one or more appends of rows whose subjects are drawn from near-identical ids."""
    writes = []
    for table in draw(st.lists(st.sampled_from(list(catalog.TABLE_SCHEMAS)), min_size=1, max_size=4, unique=True)):
        for _ in range(draw(st.integers(1, 2))):
            subjects = draw(st.lists(st.sampled_from(SUBJECTS), min_size=1, max_size=12))
            texts = draw(st.lists(TEXT, min_size=len(subjects), max_size=len(subjects)))
            writes.append((table, subjects, texts))
    return writes


@hypothesis_settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(writes=lake_contents())
def test_a_copy_holds_exactly_the_rows_a_brute_force_scan_finds_for_the_person(writes):
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        engine = sqlite_engine(tmp_path)
        store = make_store(tmp_path / "data")
        for i, (table, subjects, texts) in enumerate(writes):
            store.append(table, rows_for(table, subjects, texts, start=100 * i))
        report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
        with zipfile.ZipFile(report.path) as archive:
            for cat in catalog.CATEGORIES:
                expected = brute_force(store, cat.table_name, ALICE)
                assert copy_rows(archive, cat.table_name) == expected, cat.table_name
                assert len(csv_rows(archive, f"telemetry/{cat.table_name}.csv")) == len(expected)
                assert report.records[cat.key] == len(expected)
        engine.dispose()


def test_the_copy_iterates_the_catalog_so_every_table_has_files_even_when_empty(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE, "E00002"]))
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        names = set(archive.namelist())
        for cat in catalog.CATEGORIES:
            assert {f"telemetry/{cat.table_name}.jsonl", f"telemetry/{cat.table_name}.csv"} <= names
        assert {"README.txt", "manifest.json", "you.json", "access_events.jsonl", "access_events.csv",
                "dataset_memberships.csv", "models.csv"} <= names
        assert archive.read("telemetry/keystrokes.csv").decode().startswith("subject_id,ts,window_minutes")
        manifest = json.loads(archive.read("manifest.json"))
        readme = archive.read("README.txt").decode()
    assert [c["key"] for c in manifest["categories"]] == [c.key for c in catalog.CATEGORIES]
    chat = next(c for c in manifest["categories"] if c["key"] == "user.content.private.chat")
    assert chat["records"] == 1 and chat["legal_basis"].startswith("GDPR Art. 6(1)(b)")
    assert {p["code"] for p in chat["purposes"]} == set(catalog.CATEGORY_BY_KEY[chat["key"]].purposes)
    assert chat["retention_days"] == 730 and chat["source"] == "TeamChat" and chat["you_can_object"] is True
    assert [r["article"] for r in manifest["your_rights"]][:2] == ["GDPR Art. 15", "GDPR Art. 16"]
    for name in ("manifest.json", "you.json", "access_events", "dataset_memberships", "models", "telemetry/"):
        assert name in readme


def test_large_tables_are_also_given_as_parquet(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "PARQUET_MIN_ROWS", 50)
    monkeypatch.setattr(export, "BATCH_ROWS", 7)  # several batches per file
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("app_usage", rows_for("app_usage", [ALICE] * 60 + ["E00002"] * 5))
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * 3))
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        assert "telemetry/app_usage.parquet" in archive.namelist()
        assert "telemetry/chat_messages.parquet" not in archive.namelist()
        parquet = pl.read_parquet(io.BytesIO(archive.read("telemetry/app_usage.parquet")))
        assert parquet.height == 60 and set(parquet["subject_id"]) == {ALICE}
        assert len(csv_rows(archive, "telemetry/app_usage.csv")) == 60  # one header, seven batches


def test_a_100_megabyte_copy_is_written_in_batches(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    texts = [secrets.token_urlsafe(1500) for _ in range(1000)]  # random, so it barely compresses
    for part in range(25):
        store.append("chat_messages", rows_for("chat_messages", [ALICE] * 1000, texts, start=part * 1000))
    seen = []
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies",
                                  progress=lambda fraction, message: seen.append(fraction))
    assert report.bytes > 100_000_000 and report.records["user.content.private.chat"] == 25_000
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 5
    with zipfile.ZipFile(report.path) as archive:
        assert archive.testzip() is None
        assert {"telemetry/chat_messages.parquet", "telemetry/chat_messages.csv"} <= set(archive.namelist())


# ---- spreadsheet safety -------------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+2", "'=1+2"), ("+SUM(A1)", "'+SUM(A1)"), ("-2+3", "'-2+3"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("plain", "plain"), ("a=b", "a=b"), ("", ""), ("'=already", "'=already"),
])
def test_cells_that_a_spreadsheet_would_run_get_a_leading_apostrophe(cell, safe):
    assert export.neutralise_cell(cell) == safe


def test_csv_files_are_neutralised_but_json_lines_keep_the_exact_values(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    hostile = ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(1)", "\tTab", "\rCR", "fine, with \"quotes\""]
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * len(hostile), hostile))
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        in_csv = sorted(r["text"] for r in csv_rows(archive, "telemetry/chat_messages.csv"))
        in_json = sorted(r["text"] for r in copy_rows(archive, "chat_messages"))
    assert in_csv == sorted(export.neutralise_cell(h) for h in hostile)
    assert in_json == sorted(hostile)


# ---- who may make a copy, and what is logged -------------------------------------------------


def test_your_own_copy_is_not_logged_as_an_access_by_someone_else(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE]))
    export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    assert count(engine, db.access_events) == 0


def test_nobody_can_build_someone_elses_copy_as_their_own():
    with pytest.raises(PermissionDenied):
        export.build_my_copy(None, None, principal(ALICE, roles=()), Path("unused"))


def test_the_copy_contains_the_persons_access_events_and_no_one_elses(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    priya = principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    access_events.record_read(engine, priya, ALICE, "user.content.private.chat", "legal.compliance", "=AR-1", 2)
    access_events.record_read(engine, priya, "E00002", "user.content.private.chat", "legal.compliance", "AR-2", 9)
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        events = [json.loads(line) for line in filter(None, archive.read("access_events.jsonl").decode().split("\n"))]
        in_csv = csv_rows(archive, "access_events.csv")
        manifest = json.loads(archive.read("manifest.json"))
    assert [(e["actor"], e["justification"], e["record_count"]) for e in events] == [("Priya Raman", "=AR-1", 2)]
    assert in_csv[0]["justification"] == "'=AR-1"
    assert manifest["recipients"][0]["name"] == "Priya Raman" and manifest["access_events"] == 1


def jsonl_rows(archive: zipfile.ZipFile, name: str) -> list[dict]:
    return [json.loads(line) for line in filter(None, archive.read(name).decode().split("\n"))]


def test_the_manifest_lists_every_other_file_with_its_sha256_size_rows_and_schema(tmp_path, monkeypatch):
    monkeypatch.setattr(export, "PARQUET_MIN_ROWS", 3)
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * 4 + ["E00002"]))
    priya = principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    access_events.record_read(engine, priya, ALICE, "user.content.private.chat", "legal.compliance", "AR-1", 4)
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        listed = {f["path"]: f for f in manifest["files"]}
        assert set(listed) == set(archive.namelist()) - {"manifest.json"}
        for path, entry in listed.items():
            data = archive.read(path)
            assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["bytes"] == len(data), path
            if path.endswith(".jsonl"):
                rows = jsonl_rows(archive, path)
                assert entry["rows"] == len(rows), path
                columns = [c["column"] for c in entry["schema"]]
                assert all(list(r) == columns for r in rows), path
            elif path.endswith(".csv"):
                assert entry["rows"] == len(csv_rows(archive, path)), path
                assert data.decode().split("\n", 1)[0] == ",".join(c["column"] for c in entry["schema"]), path
            elif path.endswith(".parquet"):
                parquet = pl.read_parquet(io.BytesIO(data))
                assert entry["rows"] == parquet.height and [c["column"] for c in entry["schema"]] == parquet.columns
            else:
                assert entry["rows"] is None and entry["schema"] is None, path
            for column in entry["schema"] or ():
                assert column["type"] and column["meaning"] and column["meaning"] != column["column"], (path, column)
    chat = {c["column"]: c for c in listed["telemetry/chat_messages.jsonl"]["schema"]}
    assert listed["telemetry/chat_messages.parquet"]["rows"] == 4
    assert chat["text"]["meaning"] == catalog.COLUMN_MEANINGS["text"] and chat["ts"]["type"] == "timestamp (UTC)"
    assert {c["column"]: c["type"] for c in listed["access_events.csv"]["schema"]}["record_count"] == "int64"


def test_access_events_in_the_copy_are_keyed_by_codes_with_labels_beside_them(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    colleague = principal("E00010")  # an engineer: not a role the policy lets read chat
    access_events.record_read(engine, colleague, ALICE, "user.content.private.chat", "train_ai_system", "a look", 3)
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        [event] = jsonl_rows(archive, "access_events.jsonl")
        manifest = json.loads(archive.read("manifest.json"))
    assert (event["category_key"], event["category"]) == ("user.content.private.chat", "Chat messages")
    assert (event["purpose_code"], event["purpose"]) == ("train_ai_system", "Training AI systems")
    assert (event["actor_kind"], event["action"], event["record_count"]) == ("person", "view", 3)
    assert "role_not_allowed" in event["flag_codes"].split(",") and "role not allowed" in event["flags"]
    assert event["flagged_because"]
    assert manifest["recipients"][0]["categories"] == [{"key": "user.content.private.chat", "name": "Chat messages"}]


def test_the_copy_holds_the_persons_requests_objections_and_their_histories(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    alice, bob = principal(ALICE), principal("E00002")
    priya = principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    objection = privacy_requests.file_request(engine, alice, ALICE, "objection", purpose="train_ai_system",
                                              details="=no AI on my chats")
    privacy_requests.approve(engine, priya, objection.request_id, "identity confirmed")
    with engine.begin() as conn:
        optout.record_objections(conn, ALICE, objection.request_id, "train_ai_system", (), datetime.now(UTC))
    erasure = privacy_requests.file_request(engine, alice, ALICE, "erasure", categories=["user.behavior.keystrokes"])
    privacy_requests.transition(engine, alice, erasure.request_id, "withdrawn", "changed my mind")
    privacy_requests.file_request(engine, bob, "E00002", "access")
    report = export.build_my_copy(engine, store, alice, tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        requests = {r["request_id"]: r for r in jsonl_rows(archive, "privacy_requests.jsonl")}
        history = jsonl_rows(archive, "request_history.jsonl")
        objections = jsonl_rows(archive, "objections.jsonl")
        in_csv = csv_rows(archive, "privacy_requests.csv")
        manifest = json.loads(archive.read("manifest.json"))
        everything = b"".join(archive.read(n) for n in archive.namelist())
    assert set(requests) == {objection.request_id, erasure.request_id}
    assert (requests[objection.request_id]["kind"], requests[objection.request_id]["status"]) == ("objection", "approved")
    assert requests[objection.request_id]["purpose"] == "Training AI systems"
    assert (requests[erasure.request_id]["category_keys"], requests[erasure.request_id]["status_words"]) == (
        "user.behavior.keystrokes", "withdrawn by you")
    assert {r["details"] for r in in_csv} >= {"'=no AI on my chats"}
    steps = [(h["request_id"], h["event"], h["to_status"], h["by_role"]) for h in history]
    assert steps == [(objection.request_id, "filed", "submitted", "subject"),
                     (objection.request_id, "transition", "in_review", "privacy_office"),
                     (objection.request_id, "transition", "approved", "privacy_office"),
                     (erasure.request_id, "filed", "submitted", "subject"),
                     (erasure.request_id, "transition", "withdrawn", "subject")]
    assert history[0]["by"] == "you" and history[-1]["reason"] == "changed my mind"
    assert [(o["request_id"], o["purpose_code"], o["purpose"]) for o in objections] == [
        (objection.request_id, "train_ai_system", "Training AI systems")]
    assert manifest["privacy_requests"] == 2 and manifest["objections"] == 1
    with engine.connect() as conn:  # the history shows people by role, never by pseudonym
        pseudonyms = conn.execute(sa.select(db.pseudonyms.c.pseudonym)).scalars().all()
    assert pseudonyms and not any(p.encode() in everything for p in pseudonyms)


def test_the_privacy_office_export_is_an_access_event_the_person_sees(tmp_path, monkeypatch, capsys):
    data_dir = tmp_path / "data"
    engine, store = sqlite_engine(data_dir), make_store(data_dir)
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * 3 + ["E00002"]))
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    out = tmp_path / "alice.zip"
    assert cli.main(["export", "alice@example.com", "--out", str(out), "--reason", "Access request AR-2026-17"]) == 0
    printed = capsys.readouterr().out
    assert "Recorded 6 access event(s)" in printed and "signed log checkpoint" in printed
    seen = my_access.events_about(engine, principal(ALICE))
    assert {(e.actor, e.actor_kind, e.action, e.justification) for e in seen} == {
        ("Portal command line (privacy office)", "service", "export", "Access request AR-2026-17")}
    assert {e.category_key: e.record_count for e in seen}["user.content.private.chat"] == 3
    assert {e.category_key for e in seen} == set(catalog.CATEGORY_BY_KEY)
    assert my_access.events_about(engine, principal("E00002")) == []
    with zipfile.ZipFile(out) as archive:
        assert len(copy_rows(archive, "chat_messages")) == 3


@pytest.mark.parametrize(("argv", "words"), [
    (["export", "nobody@example.com", "--out", "{out}", "--reason", "AR-1"], "no employee has"),
    (["export", "alice", "--out", "{out}", "--reason", "   "], "--reason must say why"),
    (["export", "alice", "--out", "{out}", "--reason", "AR-1", "--purpose", "curiosity"], "not a registered purpose"),
    (["export", "alice", "--out", "{existing}", "--reason", "AR-1"], "already exists"),
])
def test_a_privacy_office_export_with_bad_input_writes_and_logs_nothing(tmp_path, monkeypatch, capsys, argv, words):
    data_dir = tmp_path / "data"
    engine = sqlite_engine(data_dir)
    make_store(data_dir)
    monkeypatch.setenv("PORTAL_DATA_DIR", str(data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    existing = tmp_path / "existing.zip"
    existing.write_bytes(b"keep me")
    out = tmp_path / "out.zip"
    assert cli.main([a.format(out=out, existing=existing) for a in argv]) == 2
    assert words in capsys.readouterr().err
    assert not out.exists() and existing.read_bytes() == b"keep me"
    assert count(engine, db.access_events) == 0
    assert not list(tmp_path.glob("*.part"))


def test_a_copy_that_fails_halfway_leaves_no_file_and_no_access_event(tmp_path, monkeypatch):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * 3))
    real_scan = store.scan

    def failing_scan(table, subject):
        if table == "transcript_segments":
            raise OSError("disk full")
        return real_scan(table, subject)

    monkeypatch.setattr(store, "scan", failing_scan)
    out = tmp_path / "out" / "alice.zip"
    priya = principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    with pytest.raises(OSError, match="disk full"):
        export.build_copy_for_subject(engine, store, priya, ALICE, out, "AR-9")
    assert list(out.parent.iterdir()) == [] and count(engine, db.access_events) == 0


def test_only_the_privacy_office_may_export_someone_else(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    with pytest.raises(PermissionDenied):
        export.build_copy_for_subject(engine, store, principal("E00002"), ALICE, tmp_path / "x.zip", "curious")
    assert not (tmp_path / "x.zip").exists()


def test_a_copy_removed_by_an_erasure_that_left_no_telemetry_says_there_is_nothing_left_to_copy(tmp_path):
    from portal.privacy import erasure

    data_dir = tmp_path / "data"
    engine, store = sqlite_engine(data_dir), make_store(data_dir)
    store.append("chat_messages", rows_for("chat_messages", [ALICE] * 3 + ["E00002"]))
    alice, priya = principal(ALICE), principal("E00003", roles=(EMPLOYEE, PRIVACY_OFFICE))
    prepared_at = datetime.now(UTC)
    copy = export.build_my_copy(engine, store, alice, export.copies_dir(data_dir))
    assert prepared_copy.offered(engine, store, alice, copy.path, prepared_at).available
    request_id = privacy_requests.file_request(engine, alice, ALICE, "erasure").request_id
    privacy_requests.approve(engine, priya, request_id, "identity confirmed")
    erasure.execute(engine, store, priya, request_id)
    offer = prepared_copy.offered(engine, store, alice, copy.path, prepared_at)
    assert not copy.path.exists() and not offer.available
    assert (offer.erasure_request, offer.still_held) == (request_id, ())
    assert "because your data was erased" in offer.sentence() and "No telemetry about you is left" in offer.sentence()
    with pytest.raises(PermissionDenied):  # only the person asks about their own copy
        prepared_copy.offered(engine, store, principal(ALICE, roles=()), copy.path, prepared_at)


def test_old_own_copies_and_every_copy_of_an_erased_person_are_purged_but_request_copies_wait(tmp_path):
    directory = tmp_path / "copies"
    directory.mkdir()
    names = ("E00009-self-a", "E00001-self-b", "E00001-req42", "E00002-self-c", "E00003-req43")
    old_own, alices, alices_request, fresh_own, old_request = (directory / f"copy-{n}.zip" for n in names)
    for path in (old_own, alices, alices_request, fresh_own, old_request):
        path.write_bytes(b"x")
    stale = datetime.now().timestamp() - 7200
    for path in (old_own, old_request):
        os.utime(path, (stale, stale))
    assert export.purge_copies(directory, employee_id=ALICE) == 3
    assert sorted(p.name for p in directory.iterdir()) == sorted([fresh_own.name, old_request.name])


def test_nothing_in_the_copy_path_touches_the_database_outside_reads(tmp_path):
    """A copy reads the metadata DB and writes nothing there (the export itself is not an event)."""
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    with engine.connect() as conn:
        before = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                  for t in db.metadata.sorted_tables}
    export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with engine.connect() as conn:
        after = {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
                 for t in db.metadata.sorted_tables}
    assert after == before
