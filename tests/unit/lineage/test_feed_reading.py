"""Reading a feed: the kind of each event, which outputs are training data, versions, the summary, the setting."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from openlineage.client.event_v2 import Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import dataset_version_dataset
from pydantic import ValidationError

from portal.core.line_input import Problems
from portal.lineage import openlineage_events as events
from portal.lineage import training_data as td
from portal.lineage.lineage_report import LineageReport
from portal.lineage.openlineage_events import TelemetryPortalDatasetFacet
from tests.conftest import make_settings

SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/"
RUN_ID = str(uuid.UUID(int=9))


@pytest.mark.parametrize(("event", "kind"), [
    ({"schemaURL": SPEC + "DatasetEvent", "dataset": {}}, "DatasetEvent"),
    ({"schemaURL": SPEC + "JobEvent", "job": {}}, "JobEvent"),
    ({"schemaURL": SPEC + "RunEvent", "job": {}}, "RunEvent"),  # says it is a run: its run is missing
    ({"schemaURL": "https://openlineage.io/spec/2-0-2/DatasetEvent.json", "dataset": {}}, "DatasetEvent"),
    ({"dataset": {"namespace": "s3://a", "name": "x"}}, "DatasetEvent"),
    ({"job": {"namespace": "dbt", "name": "m"}, "inputs": []}, "JobEvent"),
    ({"eventType": "COMPLETE", "job": {}}, "RunEvent"),
    ({}, "RunEvent"),
    ({"schemaURL": 7, "dataset": {}}, "DatasetEvent"),
])
def test_the_kind_of_an_event_comes_from_its_schema_url_else_from_its_fields(event, kind):
    assert events.event_kind(event) == kind


def test_a_static_event_is_checked_like_a_run_event_and_its_problems_named():
    problems = Problems()
    found = events.parse_static_event({"eventTime": "2026-11-01T00:00:00Z", "dataset": {"namespace": "s3://a"}},
                                      "DatasetEvent", 5, problems, now=datetime(2026, 12, 1, tzinfo=UTC))
    assert found is None and [(p.line, p.field, p.message) for p in problems.items] == [(5, "dataset.name",
                                                                                           "is missing")]


def run_with(**facets) -> tuple[RunEvent, OutputDataset]:
    output = OutputDataset(namespace="s3://training", name="corpus", facets=facets)
    event = RunEvent(eventType=RunState.COMPLETE, eventTime="2026-11-01T00:00:00+00:00", run=Run(runId=RUN_ID),
                     job=Job(namespace="ml", name="build"), outputs=[output])
    return event, output


@pytest.mark.parametrize(("facets", "value", "field"), [
    ({"telemetryPortal": TelemetryPortalDatasetFacet(purpose="p", version="v3"),
      "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="12")},
     "v3", "outputs[0].facets.telemetryPortal.version"),
    ({"telemetryPortal": TelemetryPortalDatasetFacet(purpose="p"),
      "version": dataset_version_dataset.DatasetVersionDatasetFacet(datasetVersion="12")},
     "12", "outputs[0].facets.version.datasetVersion"),
    ({"telemetryPortal": TelemetryPortalDatasetFacet(purpose="p")}, RUN_ID, "run.runId"),
])
def test_an_outputs_version_is_the_portal_facets_then_the_version_facets_then_the_runs(facets, value, field):
    event, output = run_with(**facets)
    assert td.output_version(output, "outputs[0]", event) == td.Version(value, field)


def test_an_input_has_no_version_from_the_run_that_read_it():
    _event, output = run_with(telemetryPortal=TelemetryPortalDatasetFacet(purpose="p"))
    assert td.declared_version(output, "inputs[0]") is None


def test_without_configured_namespaces_every_namespace_may_hold_training_data():
    assert td.TrainingNamespaces.of([]).accepts("file")
    configured = td.TrainingNamespaces.of(["s3://acme-training"])
    assert configured.accepts("s3://acme-training") and not configured.accepts("s3://acme-training-staging")


def test_the_summary_says_what_was_recorded_what_was_skipped_and_why():
    report = LineageReport(events=412, training_datasets=3, skipped_no_facet=50, skipped_namespace=7,
                           dataset_events=12, job_events=3, not_complete=200, datasets_added=3)
    assert report.describe().startswith(
        "412 events read: 3 training dataset versions and 0 model versions recorded, 57 outputs skipped (not "
        "training data: 50 without the portal facet, 7 in namespaces not configured as training data), "
        "12 DatasetEvents and 3 JobEvents noted and skipped (static metadata), 200 run events not COMPLETE, "
        "skipped. Added 3 dataset versions,")


def test_a_summary_of_nothing_skipped_does_not_mention_skipping():
    text = LineageReport(events=1, training_datasets=1, datasets_added=1).describe()
    assert "skipped" not in text and text.startswith("1 event read: 1 training dataset version and 0 model")


@pytest.mark.parametrize(("value", "expected"), [
    ("s3://acme-training, bigquery", ["s3://acme-training", "bigquery"]),
    ('["postgres://ml-db:5432", "postgres://ml-db:5432"]', ["postgres://ml-db:5432"]),
    ("", []),
])
def test_the_training_namespaces_setting_takes_a_json_list_or_commas(tmp_path, value, expected):
    assert make_settings(tmp_path, lineage_training_namespaces=value).lineage_training_namespaces == expected


@pytest.mark.parametrize(("value", "words"), [
    ('["s3://a",', "starts like JSON"),
    ('{"s3://a": 1}', "must be namespaces"),
    ("s3://a\x07", "no control characters"),
])
def test_a_bad_training_namespaces_setting_is_refused_naming_why(tmp_path, value, words):
    with pytest.raises(ValidationError, match=words):
        make_settings(tmp_path, lineage_training_namespaces=value)
