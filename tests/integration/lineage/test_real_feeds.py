"""Real OpenLineage feeds: Spark, Airflow and dbt events, DatasetEvents and JobEvents, mixed with the portal's own
training datasets. Only training data is recorded, everything else is counted and skipped; a dataset is its
namespace, name and version; a malformed event still rejects the whole feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import charts, cli
from portal.core import db
from portal.core.line_input import IngestRejected
from portal.lineage import my_lineage
from portal.lineage import openlineage as lineage
from portal.lineage.openlineage import Manifest
from tests.integration.audit.test_access_events import count, engine, lite, principal  # noqa: F401 - fixtures

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "openlineage"
NOW = datetime(2026, 12, 1, tzinfo=UTC)
TRAINING, STAGING = "s3://acme-training", "s3://acme-training-staging"
CORPUS = "meeting-assistant-corpus"
TRANSCRIPTS = "user.content.private.meeting_transcript"


def feed(name: str) -> Path:
    return FIXTURES / f"{name}.jsonl"


def events(name: str) -> list[dict]:
    return [json.loads(line) for line in feed(name).read_text().splitlines()]


def stored_datasets(engine) -> list[tuple[str, str, str]]:
    d = db.datasets.c
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.select(d.namespace, d.name, d.version)))


def members_csv(tmp_path, text: str = f"subject,category,record_count\nE00001,{TRANSCRIPTS},9\n") -> Path:
    path = tmp_path / "members.csv"
    path.write_text(text)
    return path


# ---- what each integration's feed gives ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "read", "not_complete", "skipped", "static"), [
    ("spark", 3, 1, 2, 0),
    ("airflow", 2, 1, 1, 0),
    ("dbt", 1, 0, 1, 0),
    ("static", 2, 0, 0, 2),
])
def test_each_integrations_own_feed_is_read_whole_and_records_nothing(lite, name, read, not_complete, skipped, static):
    report = lineage.ingest_lineage(lite, feed(name), now=NOW)
    assert (report.events, report.not_complete, report.outputs_skipped,
            report.dataset_events + report.job_events) == (read, not_complete, skipped, static)
    assert report.training_datasets == report.datasets_added == 0 and count(lite, db.datasets) == 0


def test_a_mixed_feed_records_only_the_training_datasets_and_model_and_says_what_it_skipped(engine):
    report = lineage.ingest_lineage(engine, feed("mixed"), now=NOW)
    assert (report.events, report.training_datasets, report.models, report.links_added) == (11, 2, 1, 1)
    assert (report.skipped_no_facet, report.skipped_namespace, report.dataset_events, report.job_events,
            report.not_complete) == (4, 0, 1, 1, 2)
    assert report.describe().startswith(
        "11 events read: 2 training dataset versions and 1 model version recorded, 4 outputs skipped (not training "
        "data: 4 without the portal facet), 1 DatasetEvent and 1 JobEvent noted and skipped (static metadata), "
        "2 run events not COMPLETE, skipped. Added 2 dataset versions, 1 model version, 1 training link and "
        "0 membership rows; 0 already present")
    assert stored_datasets(engine) == [(TRAINING, CORPUS, "v3"), (STAGING, CORPUS, "v3")]


def test_namespaces_configured_as_training_data_skip_a_staging_run_of_the_same_pipeline(lite):
    report = lineage.ingest_lineage(lite, feed("mixed"), training_namespaces=[TRAINING], now=NOW)
    assert (report.training_datasets, report.skipped_no_facet, report.skipped_namespace) == (1, 4, 1)
    assert "5 outputs skipped (not training data: 4 without the portal facet, 1 in namespaces not configured as " \
           "training data)" in report.describe()
    assert stored_datasets(lite) == [(TRAINING, CORPUS, "v3")]


def test_ingesting_a_real_feed_again_adds_nothing(lite):
    lineage.ingest_lineage(lite, feed("mixed"), now=NOW)
    again = lineage.ingest_lineage(lite, feed("mixed"), now=NOW)
    assert (again.datasets_added, again.models_added, again.already_present) == (0, 0, 3)


# ---- a dataset is its namespace, name and version ----------------------------------------------------------


def test_the_same_name_and_version_in_two_namespaces_are_two_datasets_and_a_manifest_must_say_which(engine,
                                                                                                 tmp_path):
    lineage.ingest_lineage(engine, feed("mixed"), now=NOW)
    path = members_csv(tmp_path)
    with pytest.raises(IngestRejected, match=f"registered in 2 namespaces .*{STAGING}.*--namespace"):
        lineage.ingest_lineage(engine, None, [Manifest(CORPUS, "v3", path)], now=NOW)
    report = lineage.ingest_lineage(engine, None, [Manifest(CORPUS, "v3", path, TRAINING)], now=NOW)
    assert report.members_added == 1
    [use] = my_lineage.where_my_data_went(engine, principal("E00001")).datasets
    assert (use.namespace, use.name, use.version, use.label, use.models) == (
        TRAINING, CORPUS, "v3", f"{CORPUS} v3", ("meeting-summarizer 2.1",))


def test_a_person_in_two_datasets_of_the_same_name_sees_where_each_is_stored(lite, tmp_path):
    lineage.ingest_lineage(lite, feed("mixed"), now=NOW)
    path = members_csv(tmp_path)
    for namespace in (TRAINING, STAGING):
        lineage.ingest_lineage(lite, None, [Manifest(CORPUS, "v3", path, namespace)], now=NOW)
    held = my_lineage.where_my_data_went(lite, principal("E00001"))
    assert sorted(u.label for u in held.datasets) == [f"{CORPUS} v3 ({TRAINING})", f"{CORPUS} v3 ({STAGING})"]
    assert sorted(my_lineage.datasets_frame(held)["Stored in"]) == [TRAINING, STAGING]
    assert held.sentence() == "Your data is in 2 training dataset versions and was used to train 1 model version."
    assert len(set(my_lineage.flows(held)["target"])) == 3  # two dataset nodes and the model, never merged


def test_a_hostile_namespace_is_shown_as_text_in_the_picture(lite, tmp_path):
    hostile = '<img src=x onerror="alert(1)">'
    lines = [line.replace(STAGING, hostile.replace('"', '\\"')) for line in feed("mixed").read_text().splitlines()]
    lineage.ingest_lineage(lite, lines, now=NOW)
    path = members_csv(tmp_path)
    for namespace in (TRAINING, hostile):
        lineage.ingest_lineage(lite, None, [Manifest(CORPUS, "v3", path, namespace)], now=NOW)
    held = my_lineage.where_my_data_went(lite, principal("E00001"))
    assert f"{CORPUS} v3 ({hostile})" in {u.label for u in held.datasets}  # stored and listed verbatim
    labels = charts.lineage_sankey(my_lineage.flows(held)).data[0].node.label
    assert not any("<" in label for label in labels) and any("&lt;img" in label for label in labels)


def test_a_dataset_registered_before_namespaces_were_kept_takes_its_namespace_from_the_next_ingest(lite):
    lineage.ingest_lineage(lite, feed("training"), now=NOW)
    with lite.begin() as conn:  # as migration 0009 leaves a row registered before it
        conn.execute(sa.update(db.datasets).values(namespace=""))
    again = lineage.ingest_lineage(lite, feed("training"), now=NOW)
    assert (again.datasets_added, again.already_present) == (0, 2)
    assert stored_datasets(lite) == [(TRAINING, CORPUS, "v3")]


# ---- versions ---------------------------------------------------------------------------------------------


def training_event(**facets) -> dict:
    [build, _model] = events("training")
    build["outputs"][0]["facets"] = {k: v for k, v in build["outputs"][0]["facets"].items() if k != "version"}
    build["outputs"][0]["facets"].update(facets)
    return build


@pytest.mark.parametrize(("facets", "version"), [
    ({"telemetryPortal": {"purpose": "train_ai_system", "version": "v3-final"}, "version": {"datasetVersion": "12"}},
     "v3-final"),
    ({"version": {"datasetVersion": "12"}}, "12"),
    ({}, "01936d00-1234-7abc-8def-000000000003"),
])
def test_a_version_comes_from_the_portal_facet_else_the_version_facet_else_the_run(lite, facets, version):
    lineage.ingest_lineage(lite, [json.dumps(training_event(**facets))], now=NOW)
    assert stored_datasets(lite) == [(TRAINING, CORPUS, version)]


# ---- static events ----------------------------------------------------------------------------------------


def test_dataset_and_job_events_without_a_schema_url_are_recognised_and_never_told_their_run_is_missing(lite):
    static = [{k: v for k, v in e.items() if k != "schemaURL"} for e in events("static")]
    report = lineage.ingest_lineage(lite, [json.dumps(e) for e in static], now=NOW)
    assert (report.dataset_events, report.job_events) == (1, 1)


def test_a_dataset_event_with_the_portal_facet_is_noted_but_registers_nothing(lite):
    [dataset_event, _job] = events("static")
    dataset_event["dataset"]["facets"]["telemetryPortal"] = {"purpose": "train_ai_system"}
    report = lineage.ingest_lineage(lite, [json.dumps(dataset_event)], now=NOW)
    assert "1 carry the portal facet, but a training dataset is registered by the COMPLETE run event" in \
        report.describe()
    assert count(lite, db.datasets) == 0


# ---- malformed events still reject the whole feed -------------------------------------------------------------


def test_one_malformed_event_anywhere_in_a_real_feed_rejects_it_naming_the_line_and_field(lite):
    lines = feed("mixed").read_text().splitlines()
    dbt = json.loads(lines[3])
    dbt["outputs"][0]["facets"]["ownership"] = {"owners": [{"type": "MAINTAINER"}]}  # an owner without a name
    lines[3] = json.dumps(dbt)
    with pytest.raises(IngestRejected) as caught:
        lineage.ingest_lineage(lite, lines, now=NOW)
    [problem] = caught.value.problems
    assert (problem.line, problem.field, problem.message) == (4, "outputs[0].facets.ownership.name", "is missing")
    assert count(lite, db.datasets) == 0 and count(lite, db.models) == 0


# ---- the command line ---------------------------------------------------------------------------------------


def test_the_command_reads_a_real_feed_with_configured_namespaces_and_prints_the_summary(lite, tmp_path, monkeypatch,
                                                                                        capsys):
    monkeypatch.setenv("PORTAL_DATABASE_URL", lite.url.render_as_string(hide_password=False))
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_LINEAGE_TRAINING_NAMESPACES", f"{TRAINING}, s3://acme-models")
    members = members_csv(tmp_path)
    assert cli.main(["ingest", "lineage", str(feed("mixed")), "--members", f"{CORPUS}@v3={members}"]) == 0
    out = capsys.readouterr().out
    assert "11 events read: 1 training dataset version and 1 model version recorded, 5 outputs skipped" in out
    assert "1 in namespaces not configured as training data" in out and "1 membership row" in out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(feed("dbt").read_text().replace('"runId": "01936c10-aaaa', '"runId": "not-a-uuid-aaaa'))
    assert cli.main(["ingest", "lineage", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "line 1: run.runId: 'not-a-uuid-aaaa" in err and "nothing was written" in err
