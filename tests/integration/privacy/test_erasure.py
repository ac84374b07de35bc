"""Erasure across every store: nothing of the person left on disk, everyone else untouched, resumable
after a crash at any step, never completed without verification, and a receipt that verifies."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from deltalake import DeltaTable

from portal.audit import my_access
from portal.identity import pseudonyms
from portal import bootstrap
from portal.core import cache_epoch, catalog, db
from portal.demo import seed as demo
from portal.privacy import erasure, export, optout, privacy_requests, receipts
from portal.lake import volume_rollup
from portal.identity.principal import ClaimRules, Principal, principal_from_claims
from portal.demo.personas import PERSONA_BY_SUB
from portal.privacy.request_states import Status
from portal.lake.telemetry import TelemetryStore
from tests.conftest import make_settings
from tests.integration.privacy.test_privacy_requests import drop_schema, postgres_schema_url

ALICE_ID = "E00001"
KEYSTROKES = "user.behavior.keystrokes"
ERASED_TABLES = [catalog.category(k).table_name for k in privacy_requests.ERASABLE]
ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Company:
    services: bootstrap.Services
    alice: Principal
    priya: Principal

    @property
    def engine(self) -> sa.Engine:
        return self.services.engine

    @property
    def store(self) -> TelemetryStore:
        return self.services.store

    @property
    def lake(self) -> Path:
        return Path(self.services.settings.lake_dir)

    def file(self, kind="erasure", **kw) -> str:
        return privacy_requests.file_request(self.engine, self.alice, ALICE_ID, kind, **kw).request_id

    def approved(self, kind="erasure", **kw) -> str:
        request_id = self.file(kind, **kw)
        privacy_requests.approve(self.engine, self.priya, request_id, "identity confirmed")
        return request_id

    def status(self, request_id: str) -> Status:
        return privacy_requests.get(self.engine, self.priya, request_id).status


def open_company(settings) -> Company:
    services = bootstrap.build(settings)
    who = {sub: principal_from_claims(PERSONA_BY_SUB[sub].claims(), services.directory, ClaimRules.from_settings(settings))
           for sub in ("alice", "priya")}
    return Company(services, who["alice"], who["priya"])


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    data_dir = tmp_path_factory.mktemp("erasure-template")
    demo.seed(make_settings(data_dir), employees=12, days=5, seed=3)
    return data_dir


@pytest.fixture
def company(template, tmp_path):
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    found = open_company(make_settings(data_dir))
    yield found
    found.engine.dispose()


def rows_in_every_file(table_dir: Path) -> pl.DataFrame:
    """``subject_id`` of every row in every Parquet file under the table directory, read without the store."""
    frames = [pl.from_arrow(pq.read_table(p, columns=["subject_id"])) for p in sorted(table_dir.rglob("*.parquet"))
              if "_delta_log" not in p.parts]
    return pl.concat(frames) if frames else pl.DataFrame({"subject_id": []}, schema={"subject_id": pl.String})


def per_subject(lake: Path, table: str) -> dict[str, int]:
    frame = pl.from_arrow(DeltaTable(lake / table).to_pyarrow_table(columns=["subject_id"]))
    return dict(frame.group_by("subject_id").len().iter_rows())


def assert_erased_everywhere(company: Company, tables=ERASED_TABLES) -> None:
    for table in tables:
        assert rows_in_every_file(company.lake / table).filter(pl.col("subject_id") == ALICE_ID).height == 0, table


# ---- the outcome ---------------------------------------------------------------------------------


def test_erasure_leaves_no_row_of_the_person_in_any_file_on_disk_and_everyone_else_untouched(company):
    before = {t: per_subject(company.lake, t) for t in catalog.TABLE_SCHEMAS}
    versions = {t: DeltaTable(company.lake / t).version() for t in ERASED_TABLES}
    request_id = company.approved()
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)

    assert company.status(request_id) == Status.COMPLETED
    assert_erased_everywhere(company)
    for table in catalog.TABLE_SCHEMAS:
        after = per_subject(company.lake, table)
        erased = table in ERASED_TABLES
        expected = {s: n for s, n in before[table].items() if not (erased and s == ALICE_ID)}
        assert after == expected, table  # other people's rows: same counts; totals: before minus erased
        assert sum(after.values()) == sum(before[table].values()) - (before[table].get(ALICE_ID, 0) if erased else 0)
    assert per_subject(company.lake, "performance_records")[ALICE_ID] > 0  # kept under the contract
    for table in ERASED_TABLES:  # no older version can bring the rows back: its files are gone
        with pytest.raises(Exception):
            DeltaTable(company.lake / table, version=versions[table]).to_pyarrow_table()
        counted = receipt.document["stores"]["telemetry"][table]
        assert counted["rows_removed"] == counted["rows_before"] == before[table][ALICE_ID]
        assert (counted["rows_after"], counted["version_before"]) == (0, versions[table])
        assert counted["version_after"] > counted["version_before"]
    assert receipts.verify(receipt.text, receipts.verifier_key(company.services.settings.data_dir))


def test_erasure_of_everything_unlinks_the_access_log_and_keeps_what_must_be_kept(company):
    with company.engine.connect() as conn:
        old = pseudonyms.pseudonym_of(conn, ALICE_ID)
        events = conn.execute(sa.select(sa.func.count()).select_from(db.access_events)).scalar()
        assert my_access.events_for_subject(conn, ALICE_ID)
        memberships = conn.execute(sa.select(db.dataset_members.c.category_key)
                                   .where(db.dataset_members.c.subject_pseudonym == old)).scalars().all()
    request_id = company.approved()
    plan = erasure.plan(company.engine, company.store, privacy_requests.get(company.engine, company.priya, request_id))
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)
    with company.engine.connect() as conn:
        fresh = pseudonyms.pseudonym_of(conn, ALICE_ID)
        assert fresh is not None and fresh != old
        assert conn.execute(sa.select(db.pseudonyms).where(db.pseudonyms.c.pseudonym == old)).first() is None
        assert conn.execute(sa.select(sa.func.count()).select_from(db.access_events)).scalar() == events
        assert my_access.events_for_subject(conn, ALICE_ID) == []  # the entries stay, pointing to nobody
        assert conn.execute(sa.select(sa.func.count()).where(db.access_events.c.subject_pseudonym == old)).scalar()
        left = conn.execute(sa.select(db.dataset_members.c.category_key).where(
            db.dataset_members.c.subject_pseudonym.in_([old, fresh]))).scalars().all()
        assert sorted(left) == sorted(c for c in memberships if c not in privacy_requests.ERASABLE)
        assert conn.execute(sa.select(db.employees).where(db.employees.c.employee_id == ALICE_ID)).first()
        statuses = dict(conn.execute(sa.select(db.datasets.c.name + " " + db.datasets.c.version,
                                               db.datasets.c.status)).all())
        assert optout.tombstone(conn, optout.salt(company.services.settings.data_dir), ALICE_ID) is None
        assert ALICE_ID not in json.dumps(conn.execute(sa.select(db.erasure_tombstones)).all(), default=str)
    flagged = {f"{d['dataset']} {d['version']}" for d in receipt.document["datasets_flagged"]}
    assert flagged == {f"{d.name} {d.version}" for d in plan.datasets} and flagged
    assert all(statuses[label] == erasure.REBUILD_REQUIRED for label in flagged)
    assert {m["model"] for m in receipt.document["models_affected"]} == {m.name for m in plan.models}
    salt_file = company.services.settings.data_dir / optout.SALT_FILE
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    # Alice can still sign in and read her receipt.
    again = principal_from_claims(PERSONA_BY_SUB["alice"].claims(), company.services.directory, ClaimRules(role_groups={}))
    assert receipts.for_request(company.engine, again, request_id).document == receipt.document


def test_the_plan_shows_what_will_be_touched_without_changing_anything(company):
    request_id = company.approved(categories=[KEYSTROKES])
    request = privacy_requests.get(company.engine, company.priya, request_id)
    before = per_subject(company.lake, "keystrokes")
    found = erasure.plan(company.engine, company.store, request)
    assert [(t.store, t.table, t.rows) for t in found.tables if t.store == "telemetry"] == [
        ("telemetry", "keystrokes", before[ALICE_ID])]
    assert {t.table for t in found.tables if t.store == "metadata"} == {"dataset_members", "erasure_tombstones"}
    assert {d.name for d in found.datasets} == {"keystroke-dynamics"}
    assert {m.name for m in found.models} == {"typing-fatigue-detector"}
    assert per_subject(company.lake, "keystrokes") == before and company.status(request_id) == Status.APPROVED


def test_erasing_one_category_leaves_the_others_and_the_link_to_the_access_log(company):
    with company.engine.connect() as conn:
        link = pseudonyms.pseudonym_of(conn, ALICE_ID)
    others = {t: per_subject(company.lake, t).get(ALICE_ID) for t in ERASED_TABLES if t != "keystrokes"}
    request_id = company.approved(categories=[KEYSTROKES])
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert_erased_everywhere(company, ["keystrokes"])
    assert {t: per_subject(company.lake, t).get(ALICE_ID) for t in others} == others
    with company.engine.connect() as conn:
        assert pseudonyms.pseudonym_of(conn, ALICE_ID) == link
        kinds = set(conn.execute(sa.select(db.dataset_members.c.category_key)
                                 .where(db.dataset_members.c.subject_pseudonym == link)).scalars())
        assert KEYSTROKES not in kinds and kinds
        assert optout.tombstone(conn, optout.salt(company.services.settings.data_dir), ALICE_ID) == (KEYSTROKES,)


def test_erasure_clears_prepared_copies_and_the_stores_caches(company):
    copy = export.build_my_copy(company.engine, company.store, company.alice,
                                export.copies_dir(company.services.settings.data_dir))
    company.store.summary(ALICE_ID)
    assert company.store._snapshots and copy.path.exists()
    other_process = cache_epoch.Watcher()
    other_process.changed(company.engine)
    receipt = erasure.execute(company.engine, company.store, company.priya, company.approved())
    assert other_process.changed(company.engine)  # the running portal drops its caches too
    assert not copy.path.exists()
    assert not company.store._snapshots and not company.store._footers
    assert receipt.document["stores"]["caches"]["cleared"]
    assert company.store.summary(ALICE_ID)["category"].to_list() == ["user.workplace.performance"]


def test_a_completed_request_is_not_carried_out_twice(company):
    request_id = company.approved(categories=[KEYSTROKES])
    first = erasure.execute(company.engine, company.store, company.priya, request_id)
    assert erasure.execute(company.engine, company.store, company.priya, request_id).document == first.document
    with pytest.raises(erasure.ErasureError, match="only approved requests"):
        erasure.execute(company.engine, company.store, company.priya, company.file())


# ---- resuming after a crash ------------------------------------------------------------------------


class Crash(Exception):
    pass


STEP_LABELS = [s.label for s in erasure.steps(privacy_requests.Request(
    "REQ-00000000", ALICE_ID, privacy_requests.Kind.ERASURE, None, None, "portal", None, None, None, None, None,
    Status.APPROVED, None, None))] + ["Verifying every store"]


@pytest.mark.parametrize("crash_before", STEP_LABELS)
def test_a_run_killed_before_any_step_finishes_when_run_again(company, crash_before):
    before = per_subject(company.lake, "keystrokes")[ALICE_ID]
    request_id = company.approved()

    def crash(_fraction, message):
        if message.startswith(crash_before):
            raise Crash(message)

    with pytest.raises(Crash):
        erasure.execute(company.engine, company.store, company.priya, request_id, progress=crash)
    assert company.status(request_id) == Status.EXECUTING
    with company.engine.connect() as conn:
        assert receipts.load(conn, request_id) is None
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert_erased_everywhere(company)
    assert receipt.document["stores"]["telemetry"]["keystrokes"]["rows_removed"] == before
    assert receipts.verify(receipt.text)


def test_a_crash_between_delete_and_vacuum_is_finished_by_the_next_run(company, monkeypatch):
    before = per_subject(company.lake, "chat_messages")[ALICE_ID]
    request_id = company.approved()
    real = TelemetryStore._vacuum

    def vacuum_dies_on_chat(table):
        if "chat_messages" in str(table.table_uri):
            raise OSError("killed during vacuum")
        return real(table)

    monkeypatch.setattr(TelemetryStore, "_vacuum", staticmethod(vacuum_dies_on_chat))
    with pytest.raises(Exception, match="killed during vacuum"):
        erasure.execute(company.engine, company.store, company.priya, request_id)
    # The delete committed; the old files that still hold the rows are on disk.
    assert rows_in_every_file(company.lake / "chat_messages").filter(pl.col("subject_id") == ALICE_ID).height
    assert "killed during vacuum" in erasure.last_error(company.engine, company.priya, request_id)
    monkeypatch.undo()
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)
    assert_erased_everywhere(company)
    assert receipt.document["stores"]["telemetry"]["chat_messages"]["rows_removed"] == before


def test_a_crash_while_completing_leaves_no_receipt_and_the_next_run_completes(company, monkeypatch):
    request_id = company.approved(categories=[KEYSTROKES])
    real = privacy_requests.executor_transition

    def dies(*args, **kwargs):
        raise Crash("killed while completing")

    monkeypatch.setattr(privacy_requests, "executor_transition", dies)
    with pytest.raises(Crash):
        erasure.execute(company.engine, company.store, company.priya, request_id)
    with company.engine.connect() as conn:
        assert receipts.load(conn, request_id) is None
    monkeypatch.setattr(privacy_requests, "executor_transition", real)
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED


def test_a_process_killed_outright_mid_run_is_finished_by_the_next_run(company):
    request_id = company.approved()
    script = ("import os, sys\n"
              "from portal import bootstrap\n"
              "from portal.privacy import erasure, export\n"
              "from portal.core.settings import load_settings\n"
              "svc = bootstrap.build(load_settings(data_dir=sys.argv[1], database_url=None))\n"
              "def die(_f, message):\n"
              "    if message.startswith('Erasing chat messages'):\n"
              "        os._exit(9)\n"
              "erasure.execute(svc.engine, svc.store, export.cli_principal(), sys.argv[2], die)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    done = subprocess.run([sys.executable, "-c", script, str(company.services.settings.data_dir), request_id],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr
    assert company.status(request_id) == Status.EXECUTING
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert_erased_everywhere(company)


def test_a_second_run_at_the_same_time_is_refused(company):
    request_id = company.approved()
    with (erasure._exclusive(company.services.settings.data_dir, request_id),
          pytest.raises(erasure.ErasureError, match="another run")):
        erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.APPROVED


# ---- never completed without verification ---------------------------------------------------------


def test_leftover_rows_found_by_verification_keep_the_request_executing_and_name_the_tables(company, monkeypatch):
    request_id = company.approved()
    monkeypatch.setattr(TelemetryStore, "_vacuum", staticmethod(lambda table: 0))  # old files stay on disk
    with pytest.raises(erasure.VerificationFailed) as failed:
        erasure.execute(company.engine, company.store, company.priya, request_id)
    for table in ERASED_TABLES:
        assert f"{table}: " in str(failed.value)
    assert company.status(request_id) == Status.EXECUTING
    with company.engine.connect() as conn:
        assert receipts.load(conn, request_id) is None
    assert "keystrokes" in erasure.last_error(company.engine, company.priya, request_id)
    monkeypatch.undo()
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert_erased_everywhere(company)


def test_a_stray_file_no_version_references_is_found_by_verification_and_removed_on_the_next_run(company):
    table_dir = company.lake / "transcript_segments"
    holding = next(p for p in sorted(table_dir.rglob("*.parquet")) if "_delta_log" not in p.parts
                   and ALICE_ID in pq.read_table(p, columns=["subject_id"])["subject_id"].to_pylist())
    stray = holding.read_bytes()
    request_id = company.approved()

    def stray_writer(_fraction, message):  # a crashed writer leaves a copy after the table was erased
        if message.startswith("Removing dataset memberships"):
            (holding.parent / "part-stray.parquet").write_bytes(stray)

    with pytest.raises(erasure.VerificationFailed, match=r"transcript_segments: \d+ row\(s\).*part-stray.parquet"):
        erasure.execute(company.engine, company.store, company.priya, request_id, progress=stray_writer)
    assert company.status(request_id) == Status.EXECUTING
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert not (holding.parent / "part-stray.parquet").exists()
    assert_erased_everywhere(company)


def test_a_stored_works_council_rollup_naming_the_person_fails_verification_until_pruned(company, monkeypatch):
    volume_rollup.weekly_records(company.store)  # the council's figures were computed before the erasure
    location = company.services.settings.lake_location
    assert volume_rollup.subject_rows(location, ALICE_ID, ERASED_TABLES) > 0
    request_id = company.approved()
    monkeypatch.setattr(volume_rollup, "prune_stored", lambda *_a, **_k: 0)  # a pruning that did nothing
    with pytest.raises(erasure.VerificationFailed, match=r"caches: \d+ stored works council rollup row"):
        erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.EXECUTING
    monkeypatch.undo()
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert receipt.document["verification"]["caches"]["stored_rollup_rows_found"] == 0
    assert volume_rollup.subject_rows(location, ALICE_ID, ERASED_TABLES) == 0


# ---- the Delta log -----------------------------------------------------------------------------------


def log_files_naming(table_dir: Path, subject: str) -> list[str]:
    """Names of the files under ``_delta_log`` holding ``subject``: plain bytes of JSON and any other file,
    the decoded values of checkpoint Parquet (compressed, so its bytes would hide the id)."""
    found = []
    for path in sorted(p for p in (table_dir / "_delta_log").rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            held = subject in json.dumps(pq.read_table(path).to_pylist(), default=str)
        else:
            held = subject.encode() in path.read_bytes()
        if held:
            found.append(path.name)
    return found


def file_bounds(table_dir: Path) -> list[tuple[str, str]]:
    actions = pa.table(DeltaTable(table_dir).get_add_actions(flatten=True))
    return list(zip(actions["min.subject_id"].to_pylist(), actions["max.subject_id"].to_pylist(), strict=True))


def test_after_erasure_no_file_of_the_delta_log_names_the_person_whose_id_bounded_data_files(company):
    for table in ERASED_TABLES:  # smallest or largest subject of a file: her id is in the file statistics
        assert any(ALICE_ID in bounds for bounds in file_bounds(company.lake / table)), table
        assert log_files_naming(company.lake / table, ALICE_ID), table
    receipt = erasure.execute(company.engine, company.store, company.priya, company.approved())

    rollup_versions = volume_rollup.versions(company.store)
    for table in ERASED_TABLES:
        assert log_files_naming(company.lake / table, ALICE_ID) == [], table
        version = DeltaTable(company.lake / table).version()
        names = sorted(os.listdir(company.lake / table / "_delta_log"))
        assert names == [f"{version:020d}.checkpoint.parquet", f"{version:020d}.json", "_last_checkpoint"], table
        assert rollup_versions[table] == version  # the works council rollups still see the current version
        assert receipt.document["verification"]["telemetry"][table]["log_files_naming_person"] == 0
    assert log_files_naming(company.lake / "performance_records", ALICE_ID)  # kept under the contract


def test_after_the_log_is_cleaned_the_tables_stay_readable_and_take_appends_and_another_erasure(company):
    from tests.integration.lake.test_telemetry import T0, _keystroke_rows

    before = {t: per_subject(company.lake, t) for t in ERASED_TABLES}
    erasure.execute(company.engine, company.store, company.priya, company.approved())
    for table in ERASED_TABLES:
        scanned = pl.scan_delta(str(company.lake / table)).group_by("subject_id").len().collect()
        assert dict(scanned.iter_rows()) == {s: n for s, n in before[table].items() if s != ALICE_ID}, table
        assert per_subject(company.lake, table) == dict(scanned.iter_rows()), table

    keystrokes = company.lake / "keystrokes"
    version = DeltaTable(keystrokes).version()
    assert company.store.append("keystrokes", _keystroke_rows(["E09999"] * 3, T0)) == 3
    assert DeltaTable(keystrokes).version() == version + 1
    assert pl.scan_delta(str(keystrokes)).filter(pl.col("subject_id") == "E09999").collect().height == 3
    assert company.store.count("keystrokes", "E09999") == 3

    other = "E00002"
    assert before["keystrokes"][other] > 0 and any(other in b for b in file_bounds(keystrokes))
    erased = company.store.erase_subject("keystrokes", other)
    assert erased.rows_removed == before["keystrokes"][other]
    assert log_files_naming(keystrokes, other) == [] and log_files_naming(keystrokes, ALICE_ID) == []
    assert company.store.log_mentions("keystrokes", other).files_naming == ()
    assert company.store.count("keystrokes", "E09999") == 3 and company.store.count("keystrokes", other) == 0
    assert dict(pl.scan_delta(str(keystrokes)).group_by("subject_id").len().collect().iter_rows()) == {
        **{s: n for s, n in before["keystrokes"].items() if s not in (ALICE_ID, other)}, "E09999": 3}


def test_without_the_log_cleanup_verification_finds_the_person_in_the_log_and_keeps_the_request_executing(
        company, monkeypatch):
    request_id = company.approved()
    monkeypatch.setattr(TelemetryStore, "_clean_log", staticmethod(lambda *_a: 0))
    with pytest.raises(erasure.VerificationFailed) as failed:
        erasure.execute(company.engine, company.store, company.priya, request_id)
    for table in ERASED_TABLES:
        assert f"{table}: the Delta log still names the person" in str(failed.value)
    assert "_delta_log/" in str(failed.value)
    assert company.status(request_id) == Status.EXECUTING
    with company.engine.connect() as conn:
        assert receipts.load(conn, request_id) is None
    monkeypatch.undo()
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert all(log_files_naming(company.lake / t, ALICE_ID) == [] for t in ERASED_TABLES)


@pytest.mark.parametrize("suffix", [".json", ".checkpoint.parquet"], ids=["commit", "checkpoint"])
def test_a_log_file_naming_the_person_put_back_fails_verification_naming_it_and_the_next_run_removes_it(
        company, suffix):
    log = company.lake / "mouse_activity" / "_delta_log"
    old = next(log / n for n in log_files_naming(log.parent, ALICE_ID) if n.endswith(suffix))
    content = old.read_bytes()
    request_id = company.approved()

    def restorer(_fraction, message):  # a backup restored into the log after the table was erased
        if message.startswith("Removing dataset memberships"):
            old.write_bytes(content)

    with pytest.raises(erasure.VerificationFailed,
                       match=rf"mouse_activity: the Delta log still names the person in 1 file\(s\) "
                             rf"\(_delta_log/{old.name}\)"):
        erasure.execute(company.engine, company.store, company.priya, request_id, progress=restorer)
    assert company.status(request_id) == Status.EXECUTING
    assert "mouse_activity" in erasure.last_error(company.engine, company.priya, request_id)
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert company.status(request_id) == Status.COMPLETED
    assert not old.exists() and log_files_naming(log.parent, ALICE_ID) == []


# ---- access requests -------------------------------------------------------------------------------


def test_an_access_request_produces_the_copy_and_its_receipt_states_the_sha256(company):
    import hashlib

    request_id = company.approved("access")
    receipt = erasure.execute(company.engine, company.store, company.priya, request_id)
    path = erasure.copy_path(company.services.settings.data_dir,
                             privacy_requests.get(company.engine, company.priya, request_id))
    assert receipt.document["stores"]["copy"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    records = receipt.document["stores"]["copy"]["records"]
    assert records[KEYSTROKES] == per_subject(company.lake, "keystrokes")[ALICE_ID]
    assert receipt.document["verification"]["copy"] == {"sha256_matches": True}
    seen = my_access.events_about(company.engine, company.alice)
    assert any(e.justification == f"access request {request_id}" and e.action == "export" for e in seen)


# ---- PostgreSQL -------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_erasure_with_the_metadata_db_on_postgresql(tmp_path):
    url, schema = postgres_schema_url()
    try:
        settings = make_settings(tmp_path, database_url=url)
        demo.seed(settings, employees=8, days=3, seed=5)
        found = open_company(settings)
        try:
            request_id = found.approved()
            receipt = erasure.execute(found.engine, found.store, found.priya, request_id)
            assert found.status(request_id) == Status.COMPLETED and receipts.verify(receipt.text)
            assert_erased_everywhere(found)
            with found.engine.connect() as conn:
                assert my_access.events_for_subject(conn, ALICE_ID) == []
        finally:
            found.engine.dispose()
    finally:
        drop_schema(schema)


def test_after_erasing_everything_the_access_log_still_verifies_and_reads_person_erased(company):
    from portal.audit.signed_log import AuditLog

    log = AuditLog(company.services.settings, company.engine)
    before = log.checkpoint()
    with company.engine.connect() as conn:
        pseudonym = pseudonyms.pseudonym_of(conn, ALICE_ID)
    erasure.execute(company.engine, company.store, company.priya, company.approved())
    report = log.verify()
    assert report.ok, report.describe()
    assert log.consistency(before.text).new_size >= before.size  # history intact, only grown
    index = log.entries_of(pseudonym)[0]
    assert log.show(index)["subject"] == "person erased"
