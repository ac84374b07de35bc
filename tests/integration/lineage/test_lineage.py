"""Lineage: OpenLineage run events and membership manifests in, a person's datasets and models out."""

from __future__ import annotations

import json
import uuid

import polars as pl
import pytest
from datetime import UTC, datetime

import sqlalchemy as sa
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_type_dataset, dataset_version_dataset
from openlineage.client.serde import Serde

from portal import charts, cli
from portal.core import db
from portal.lineage import my_lineage
from portal.lineage import openlineage as lineage
from portal.core.line_input import IngestRejected
from portal.lineage.openlineage import Manifest, TelemetryPortalDatasetFacet
from tests.integration.audit.test_access_events import count, engine, lite, principal  # noqa: F401 - fixtures

TRANSCRIPTS = "user.content.private.meeting_transcript"
CHAT = "user.content.private.chat"
RUN_1, RUN_2, RUN_3 = (str(uuid.UUID(int=i)) for i in (1, 2, 3))


def dataset(name: str, version: str | None, **facets) -> dict:
    out: dict = {"namespace": "s3://training", "name": name, "facets": dict(facets)}
    if version is not None:
        out["facets"]["version"] = {"datasetVersion": version}
    return out


def build_run(name="meeting-corpus", version="v1", *, run_id=RUN_1, time="2026-11-01T03:00:00Z",
              tables=("transcript_segments",), purpose="train_ai_system", status=None, state="COMPLETE",
              portal_version=None) -> dict:
    portal = ({"purpose": purpose} | ({"status": status} if status else {})
              | ({"version": portal_version} if portal_version else {}))
    return {"eventType": state, "eventTime": time, "producer": "https://example.com/pipelines",
            "run": {"runId": run_id}, "job": {"namespace": "ml-platform", "name": f"build-{name}"},
            "inputs": [{"namespace": "delta://lake", "name": f"lake/{t}"} for t in tables],
            "outputs": [dataset(name, version, telemetryPortal=portal,
                                ownership={"owners": [{"name": "team:ml-platform", "type": "MAINTAINER"}]})]}


def train_run(model="summarizer", version="2.0", *, datasets=(("meeting-corpus", "v1"),), run_id=RUN_2,
              time="2026-11-03T14:00:00Z") -> dict:
    return {"eventType": "COMPLETE", "eventTime": time, "run": {"runId": run_id},
            "job": {"namespace": "ml-platform", "name": f"train-{model}"},
            "inputs": [dataset(n, v) for n, v in datasets]
            + [dataset("base-llm", "7b", datasetType={"datasetType": "MODEL"})],
            "outputs": [dataset(model, version, datasetType={"datasetType": "MODEL"})]}


def jsonl(*events: dict) -> list[str]:
    return [json.dumps(e) for e in events]


def csv_manifest(tmp_path, text: str, name: str = "members.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ---- registering datasets, models and members -------------------------------------------


def test_run_events_and_a_manifest_register_datasets_models_and_members(engine, tmp_path):
    members = csv_manifest(tmp_path, "subject,record_count\nE00001,40\nbob@example.com,12\nuser10,3\n")
    report = lineage.ingest_lineage(engine, jsonl(build_run(state="START"), build_run(), train_run()),
                                    [Manifest("meeting-corpus", "v1", members)])
    assert (report.events, report.not_complete, report.datasets_added, report.models_added, report.links_added,
            report.members_added) == (3, 1, 1, 1, 1, 3)
    held = my_lineage.where_my_data_went(engine, principal("E00001"))
    [use] = held.datasets
    assert (use.name, use.version, use.purpose, use.owner, use.status_words) == (
        "meeting-corpus", "v1", "Training AI systems", "team:ml-platform", "in use")
    assert use.records == (("Meeting transcription", 40),) and use.models == ("summarizer 2.0",)
    assert [(m.label, m.datasets) for m in held.models] == [("summarizer 2.0", ("meeting-corpus v1",))]
    with engine.connect() as conn:
        stored = repr(conn.execute(sa.select(db.dataset_members)).all())
    assert "E00001" not in stored and "bob@example.com" not in stored  # members are pseudonyms only


def test_events_built_with_the_openlineage_client_are_accepted(lite, tmp_path):
    run = RunEvent(
        eventType=RunState.COMPLETE, eventTime="2026-11-01T03:00:00+00:00", run=Run(runId=RUN_1),
        job=Job(namespace="ml-platform", name="build-chat"),
        inputs=[InputDataset(namespace="delta://lake", name="chat_messages")],
        outputs=[OutputDataset(namespace="s3://training", name="chat-intent", facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="v1"),
            "telemetryPortal": TelemetryPortalDatasetFacet(purpose="train_ai_system")})])
    train = RunEvent(
        eventType=RunState.COMPLETE, eventTime="2026-11-02T03:00:00+00:00", run=Run(runId=RUN_2),
        job=Job(namespace="ml-platform", name="train-router"),
        inputs=[InputDataset(namespace="s3://training", name="chat-intent", facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="v1")})],
        outputs=[OutputDataset(namespace="s3://models", name="intent-router", facets={
            "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="0.9"),
            "datasetType": dataset_type_dataset.DatasetTypeDatasetFacet(datasetType="MODEL")})])
    path = tmp_path / "runs.jsonl"
    path.write_text(Serde.to_json(run) + "\n" + Serde.to_json(train) + "\n")
    members = csv_manifest(tmp_path, "subject\nE00001\nE00001\nE00002\n")  # no category: one input table
    report = lineage.ingest_lineage(lite, path, [Manifest("chat-intent", "v1", members)])
    assert (report.datasets_added, report.models_added, report.members_added) == (1, 1, 2)
    [use] = my_lineage.where_my_data_went(lite, principal("E00001")).datasets
    assert use.records == (("Chat messages", 2),) and use.owner == "ml-platform"  # two rows, two records


def test_a_parquet_manifest_with_categories_is_accepted(lite, tmp_path):
    path = tmp_path / "members.parquet"
    pl.DataFrame({"subject_id": ["E00001", "E00001", "E00002"], "category": [TRANSCRIPTS, CHAT, CHAT],
                  "record_count": [4, 9, 1]}).write_parquet(path)
    lineage.ingest_lineage(lite, jsonl(build_run(tables=("transcript_segments", "chat_messages"))),
                           [Manifest("meeting-corpus", "v1", path)])
    [use] = my_lineage.where_my_data_went(lite, principal("E00001")).datasets
    assert use.records == (("Chat messages", 9), ("Meeting transcription", 4))


def test_ingesting_the_same_lineage_again_adds_nothing(engine, tmp_path):
    members = csv_manifest(tmp_path, "subject,category,record_count\nE00001,%s,5\n" % TRANSCRIPTS)
    args = (jsonl(build_run(), train_run()), [Manifest("meeting-corpus", "v1", members)])
    lineage.ingest_lineage(engine, *args)
    again = lineage.ingest_lineage(engine, *args)
    assert (again.datasets_added, again.models_added, again.members_added, again.already_present) == (0, 0, 0, 3)
    assert (count(engine, db.datasets), count(engine, db.models), count(engine, db.dataset_members)) == (1, 1, 1)


def test_a_manifest_may_arrive_after_the_run_that_built_the_dataset(lite, tmp_path):
    lineage.ingest_lineage(lite, jsonl(build_run()))
    members = csv_manifest(tmp_path, f"subject,category\nalice,{TRANSCRIPTS}\n")
    assert lineage.ingest_lineage(lite, None, [Manifest("meeting-corpus", "v1", members)]).members_added == 1


def test_the_status_is_said_in_words(lite):
    lineage.ingest_lineage(lite, jsonl(build_run(status="rebuild_pending")))
    with lite.begin() as conn:
        dataset_id = conn.execute(sa.select(db.datasets.c.dataset_id)).scalar_one()
        conn.execute(sa.insert(db.pseudonyms).values(pseudonym="p-alice", employee_id="E00001"))
        conn.execute(sa.insert(db.dataset_members).values(dataset_id=dataset_id, subject_pseudonym="p-alice",
                                                          category_key=TRANSCRIPTS, record_count=3))
    held = my_lineage.where_my_data_went(lite, principal("E00001"))  # colleagues opted out; Alice did not
    assert held.datasets[0].status_words == ("in use; to be rebuilt without colleagues who opted out, and your data "
                                             "stays in it")
    assert "without you" not in held.sentence()
    with lite.begin() as conn:
        conn.execute(sa.insert(db.objections).values(objection_id="o-1", employee_id="E00001",
                                                     purpose_code=None, category_key=TRANSCRIPTS,
                                                     effective_at=datetime.now(UTC)))
    held = my_lineage.where_my_data_went(lite, principal("E00001"))
    assert held.datasets[0].status_words == "to be rebuilt without you after your opt-out"
    assert "to be rebuilt without you after your opt-out" in held.sentence()


def test_a_dataset_rebuilt_for_colleagues_erasures_tells_a_member_their_data_stays(lite):
    lineage.ingest_lineage(lite, jsonl(build_run(status="rebuild_required")))
    with lite.begin() as conn:
        dataset_id = conn.execute(sa.select(db.datasets.c.dataset_id)).scalar_one()
        conn.execute(sa.insert(db.pseudonyms).values(pseudonym="p-alice", employee_id="E00001"))
        conn.execute(sa.insert(db.dataset_members).values(dataset_id=dataset_id, subject_pseudonym="p-alice",
                                                          category_key=TRANSCRIPTS, record_count=3))
    [use] = my_lineage.where_my_data_went(lite, principal("E00001")).datasets
    assert "must be rebuilt" not in use.status_words and "your data stays in it" in use.status_words


# ---- bad input ---------------------------------------------------------------------------


BAD_EVENTS = [
    ("not JSON", "{oops", None, "is not JSON"),
    ("run id not a UUID", json.dumps({**build_run(), "run": {"runId": "run-1"}}), "run.runId", "is not a UUID"),
    ("event time missing", json.dumps({k: v for k, v in build_run().items() if k != "eventTime"}), "eventTime",
     "is missing"),
    ("event time without zone", json.dumps(build_run(time="2026-11-01T03:00:00")), "eventTime", "no time zone"),
    ("unknown event type", json.dumps(build_run(state="DONE")), "eventType", "is not one of"),
    ("job missing", json.dumps({k: v for k, v in build_run().items() if k != "job"}), "job", "is missing"),
    ("output without a name", json.dumps({**build_run(), "outputs": [{"namespace": "x"}]}), "outputs[0].name",
     "is missing"),
    ("portal facet without a purpose", json.dumps({**build_run(), "outputs": [dataset("corpus", "v1", telemetryPortal={
        "status": "active"})]}), "outputs[0].facets.telemetryPortal.purpose", "is missing"),
    ("unregistered purpose", json.dumps(build_run(purpose="curiosity")), "outputs[0].facets.telemetryPortal.purpose",
     "not a registered purpose"),
    ("unknown status", json.dumps(build_run(status="sleeping")), "outputs[0].facets.telemetryPortal.status",
     "is not one of"),
    ("facet not an object", json.dumps({**build_run(), "outputs": [{**dataset("c", "v1"), "facets": {
        "version": "v1"}}]}), "outputs[0].facets.version", "must be an object"),
    ("version facet without its field", json.dumps({**build_run(), "outputs": [{**dataset("c", None), "facets": {
        "version": {}}}]}), "outputs[0].facets.version.datasetVersion", "is missing"),
    ("model trained on an unregistered version", json.dumps(train_run(datasets=(("other", "v9"),))), "inputs[0]",
     "dataset other version v9 in s3://training is not registered"),
    ("model trained on a training dataset without saying which version",
     json.dumps(train_run(datasets=(("other", None),))), "inputs[0].facets.version", "say which version"),
    ("training dataset name longer than stored", json.dumps(build_run(name="c" * 201)), "outputs[0].name",
     "is 201 characters long"),
    ("portal version longer than stored", json.dumps(build_run(portal_version="v" * 51)),
     "outputs[0].facets.telemetryPortal.version", "is 51 characters long"),
    ("a DatasetEvent without its dataset", json.dumps({"eventTime": "2026-11-01T03:00:00Z", "schemaURL":
     "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"}), "dataset", "is missing"),
    ("a JobEvent whose job has no name", json.dumps({"eventTime": "2026-11-01T03:00:00Z", "schemaURL":
     "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent", "job": {"namespace": "dbt"}}), "job.name",
     "is missing"),
    ("an output of another job with a malformed name", json.dumps({**build_run(), "outputs": [
        {"namespace": "s3://lake", "name": 42}]}), "outputs[0].name", "must be a string"),
]


@pytest.mark.parametrize(("case", "text", "field", "words"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_each_kind_of_bad_run_event_is_named_with_its_line_and_field(lite, case, text, field, words):
    with pytest.raises(IngestRejected) as caught:
        lineage.ingest_lineage(lite, [json.dumps(build_run(name="other", run_id=RUN_3)), text])
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (2, field), caught.value.problems
    assert words in problem.message
    assert count(lite, db.datasets) == 0


BAD_MANIFESTS = [
    ("unknown subject", f"subject,category\nE00001,{TRANSCRIPTS}\nnobody,{TRANSCRIPTS}\n", 3, "subject",
     "not anyone the company employs"),
    ("unknown category", "subject,category\nE00001,user.nope\n", 2, "category", "not a catalog category"),
    ("negative count", f"subject,category,record_count\nE00001,{TRANSCRIPTS},-4\n", 2, "record_count",
     "not a whole number"),
    ("repeated person", f"subject,category,record_count\nE00001,{TRANSCRIPTS},4\nalice,{TRANSCRIPTS},5\n", 3,
     "subject", "appears again"),
    ("unknown column", "subject,score\nE00001,3\n", 0, None, "unknown column(s) score"),
    ("no subject column", f"who,category\nE00001,{TRANSCRIPTS}\n", 0, None, "no subject column"),
]


@pytest.mark.parametrize(("case", "text", "line", "field", "words"), BAD_MANIFESTS, ids=[c[0] for c in BAD_MANIFESTS])
def test_each_kind_of_bad_manifest_row_is_named_with_its_file_line_and_field(lite, tmp_path, case, text, line,
                                                                            field, words):
    path = csv_manifest(tmp_path, text)
    with pytest.raises(IngestRejected) as caught:
        lineage.ingest_lineage(lite, jsonl(build_run()), [Manifest("meeting-corpus", "v1", path)])
    problem = caught.value.problems[0]
    assert (problem.file, problem.line, problem.field) == (str(path), line, field)
    assert words in problem.message
    assert count(lite, db.datasets) == 0 and count(lite, db.dataset_members) == 0  # the events were not kept either


def test_a_manifest_without_category_for_a_dataset_of_several_categories_is_refused(lite, tmp_path):
    path = csv_manifest(tmp_path, "subject\nE00001\n")
    with pytest.raises(IngestRejected, match="does not draw on exactly one category"):
        lineage.ingest_lineage(lite, jsonl(build_run(tables=("chat_messages", "transcript_segments"))),
                               [Manifest("meeting-corpus", "v1", path)])


def test_a_manifest_for_an_unregistered_dataset_is_refused(lite, tmp_path):
    path = csv_manifest(tmp_path, f"subject,category\nE00001,{TRANSCRIPTS}\n")
    with pytest.raises(IngestRejected, match="dataset ghost version v1 is not registered"):
        lineage.ingest_lineage(lite, None, [Manifest("ghost", "v1", path)])


def test_an_unreadable_manifest_is_named(lite, tmp_path):
    path = tmp_path / "members.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(IngestRejected, match="is not a readable PARQUET file"):
        lineage.ingest_lineage(lite, jsonl(build_run()), [Manifest("meeting-corpus", "v1", path)])


def test_a_dataset_version_described_differently_is_an_error_and_changes_nothing(engine):
    lineage.ingest_lineage(engine, jsonl(build_run()))
    with pytest.raises(IngestRejected) as caught:
        lineage.ingest_lineage(engine, jsonl(build_run("chat", run_id=RUN_3), build_run(purpose="legal.compliance")))
    assert caught.value.problems[0].line == 2 and "already registered with a different" in str(caught.value)
    assert count(engine, db.datasets) == 1


def test_the_same_version_twice_in_one_file_with_different_content_names_both_lines(lite):
    with pytest.raises(IngestRejected, match="already described differently on line 1"):
        lineage.ingest_lineage(lite, jsonl(build_run(), build_run(time="2026-11-02T03:00:00Z", run_id=RUN_3)))


def test_a_membership_with_a_different_record_count_is_an_error(lite, tmp_path):
    first = csv_manifest(tmp_path, f"subject,category,record_count\nE00001,{TRANSCRIPTS},5\n", "a.csv")
    second = csv_manifest(tmp_path, f"subject,category,record_count\nE00001,{TRANSCRIPTS},6\n", "b.csv")
    lineage.ingest_lineage(lite, jsonl(build_run()), [Manifest("meeting-corpus", "v1", first)])
    with pytest.raises(IngestRejected, match="already recorded with 5 records, not 6"):
        lineage.ingest_lineage(lite, None, [Manifest("meeting-corpus", "v1", second)])


# ---- what a person sees ------------------------------------------------------------------


def test_a_person_sees_only_datasets_that_include_them(lite, tmp_path):
    path = csv_manifest(tmp_path, f"subject,category\nE00002,{TRANSCRIPTS}\n")
    lineage.ingest_lineage(lite, jsonl(build_run(), train_run()), [Manifest("meeting-corpus", "v1", path)])
    assert my_lineage.where_my_data_went(lite, principal("E00001")).empty
    assert my_lineage.where_my_data_went(lite, principal("E00002")).datasets[0].label == "meeting-corpus v1"
    assert my_lineage.where_my_data_went(lite, principal("E00001")).sentence() == (
        "Your data is in no training dataset, and no model was trained on it.")


def test_the_sankey_flows_go_from_categories_to_dataset_versions_to_models(lite, tmp_path):
    path = csv_manifest(tmp_path, f"subject,category,record_count\nE00001,{TRANSCRIPTS},7\nE00001,{CHAT},3\n")
    lineage.ingest_lineage(lite, jsonl(build_run(tables=("transcript_segments", "chat_messages")), train_run()),
                           [Manifest("meeting-corpus", "v1", path)])
    flows = my_lineage.flows(my_lineage.where_my_data_went(lite, principal("E00001")))
    assert flows.rows() == [("Chat messages", "meeting-corpus v1", 3, "category"),
                            ("Meeting transcription", "meeting-corpus v1", 7, "category"),
                            ("meeting-corpus v1", "summarizer 2.0", 10, "dataset")]


# ---- the command line ------------------------------------------------------------------------


def test_the_lineage_command_takes_events_and_manifests_and_reports_problems(lite, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PORTAL_DATABASE_URL", lite.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    runs = tmp_path / "runs.jsonl"
    runs.write_text("\n".join(jsonl(build_run(), train_run())))
    members = csv_manifest(tmp_path, f"subject,category\nE00001,{TRANSCRIPTS}\nghost,{TRANSCRIPTS}\n")
    assert cli.main(["ingest", "lineage", str(runs), "--members", f"meeting-corpus@v1={members}"]) == 2
    err = capsys.readouterr().err
    assert f"{members} line 3: subject" in err and "nothing was written" in err
    assert count(lite, db.datasets) == 0
    members.write_text(f"subject,category\nE00001,{TRANSCRIPTS}\n")
    assert cli.main(["ingest", "lineage", str(runs), "--members", f"meeting-corpus@v1={members}"]) == 0
    assert "Added 1 dataset version, 1 model version, 1 training link and 1 membership row" in capsys.readouterr().out
    assert cli.main(["ingest", "lineage", "--members", "meeting-corpus-v1.csv"]) == 2
    assert "not of the form NAME@VERSION=PATH" in capsys.readouterr().err


def test_hostile_dataset_names_are_drawn_as_text_in_the_picture(lite, tmp_path):
    name = '<a href="javascript:alert(1)">corpus</a>'
    path = csv_manifest(tmp_path, f"subject,category\nE00001,{TRANSCRIPTS}\n")
    lineage.ingest_lineage(lite, jsonl(build_run(name=name)), [Manifest(name, "v1", path)])
    held = my_lineage.where_my_data_went(lite, principal("E00001"))
    assert held.datasets[0].name == name  # stored and listed verbatim
    labels = charts.lineage_sankey(my_lineage.flows(held)).data[0].node.label
    assert "&lt;a href=&quot;" not in labels[1] and labels[1].startswith("&lt;a href=") and "<" not in labels[1]
