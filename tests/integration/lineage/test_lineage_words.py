"""What a dataset's rebuild means for the member reading "Where my data went": their own request, or others'."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa

from portal.core import db, i18n
from portal.lineage import my_lineage
from portal.lineage import openlineage as lineage
from tests.integration.audit.test_access_events import lite, principal  # noqa: F401 - fixtures
from tests.integration.lineage.test_lineage import TRANSCRIPTS, build_run, jsonl

NOW = datetime(2026, 11, 20, 9, tzinfo=UTC)


def member_of_a_dataset(engine, status: str) -> None:
    lineage.ingest_lineage(engine, jsonl(build_run(status=status)))
    with engine.begin() as conn:
        dataset_id = conn.execute(sa.select(db.datasets.c.dataset_id)).scalar_one()
        conn.execute(sa.insert(db.pseudonyms).values(pseudonym="p-alice", employee_id="E00001"))
        conn.execute(sa.insert(db.dataset_members).values(dataset_id=dataset_id, subject_pseudonym="p-alice",
                                                          category_key=TRANSCRIPTS, record_count=3))


def erasure_that_flagged(engine, employee_id: str, request_id: str, datasets: list[tuple[str, str]]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(db.privacy_requests).values(
            request_id=request_id, employee_id=employee_id, kind="erasure", categories=json.dumps([TRANSCRIPTS]),
            channel="portal", received_at=NOW, deadline=date(2026, 12, 20), status="completed", updated_at=NOW))
        conn.execute(sa.insert(db.erasure_steps).values(
            request_id=request_id, store="metadata", target="dataset_members", rows_removed=1, done_at=NOW,
            detail=json.dumps({"datasets": [{"dataset": n, "version": v, "status": "rebuild_required"}
                                            for n, v in datasets], "models": []})))


def test_a_rebuild_for_the_members_own_erasure_says_her_erased_data_is_left_out(lite):
    member_of_a_dataset(lite, "rebuild_required")
    erasure_that_flagged(lite, "E00001", "REQ-00000001", [("meeting-corpus", "v1")])
    [use] = my_lineage.where_my_data_went(lite, principal("E00001")).datasets
    assert use.mine
    assert use.status_words == "to be rebuilt before the next training run without the data you had erased"


def test_a_rebuild_for_a_colleagues_erasure_tells_the_member_her_data_stays(lite):
    member_of_a_dataset(lite, "rebuild_required")
    erasure_that_flagged(lite, "E00002", "REQ-00000002", [("meeting-corpus", "v1")])
    erasure_that_flagged(lite, "E00001", "REQ-00000003", [("another-corpus", "v1")])  # hers, another dataset
    [use] = my_lineage.where_my_data_went(lite, principal("E00001")).datasets
    assert not use.mine
    assert use.status_words == ("in use; to be rebuilt before the next training run without the data colleagues "
                                "had erased, and your data stays in it")
    assert "must be rebuilt" not in use.status_words


def test_where_my_data_went_says_the_rebuild_in_german(lite):
    member_of_a_dataset(lite, "rebuild_pending")
    with i18n.in_language("de"):
        held = my_lineage.where_my_data_went(lite, principal("E00001"))
        [use] = held.datasets
        assert use.status_words == ("in Verwendung; wird ohne die Kolleginnen und Kollegen neu erstellt, die "
                                    "widersprochen haben; Ihre Daten bleiben darin")
        assert held.sentence() == ("Ihre Daten sind in 1 Trainingsdatensatz-Version; bisher wurde kein Modell "
                                   "damit trainiert.")
        with lite.begin() as conn:
            conn.execute(sa.insert(db.objections).values(objection_id="o-1", employee_id="E00001", purpose_code=None,
                                                         category_key=TRANSCRIPTS, effective_at=NOW))
        held = my_lineage.where_my_data_went(lite, principal("E00001"))
        assert held.datasets[0].status_words == "wird nach Ihrem Widerspruch ohne Sie neu erstellt"
        assert held.sentence().endswith(
            "1 dieser Datensatzversionen wird nach Ihrem Widerspruch ohne Sie neu erstellt.")
    assert my_lineage.where_my_data_went(lite, principal("E00001")).sentence() == (
        "Your data is in 1 training dataset version; no model has been trained on it yet. 1 of these dataset "
        "versions is to be rebuilt without you after your opt-out.")
