"""A request's status, deadline and receipt summary read in the language of the person, English by default."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from portal.core import i18n
from portal.privacy import request_views
from portal.privacy.deadlines import DeadlineError, extended_deadline
from portal.privacy.privacy_requests import Request
from portal.privacy.request_states import Kind, Status, TransitionError, check_transition

TODAY = date(2026, 12, 7)


def request(status: Status, due: date = date(2026, 12, 19), updated: datetime | None = None) -> Request:
    return Request(request_id="REQ-0A1B2C3D", employee_id="E00001", kind=Kind.ERASURE, categories=None,
                   purpose_code=None, channel="portal", details=None,
                   received_at=datetime(2026, 11, 19, 9, tzinfo=UTC), deadline=due, extended_deadline=None,
                   extension_reason=None, status=status, decision_reason=None,
                   updated_at=updated or datetime(2026, 11, 20, 9, tzinfo=UTC))


def test_an_open_request_says_its_status_and_deadline_in_english_by_default():
    open_request = request(Status.IN_REVIEW)
    assert request_views.status_words(open_request) == "being reviewed by the privacy office"
    assert request_views.deadline_words(open_request, TODAY) == "due 19 Dec 2026 (12 days left)"
    assert request_views.deadline_words(request(Status.SUBMITTED, due=date(2026, 12, 6)), TODAY) == (
        "due 6 Dec 2026 (1 day overdue)")


def test_an_open_request_says_its_status_and_deadline_in_german():
    with i18n.in_language("de"):
        assert request_views.status_words(request(Status.IN_REVIEW)) == "wird von der Datenschutzstelle geprüft"
        assert request_views.deadline_words(request(Status.IN_REVIEW), TODAY) == "fällig am 19.12.2026 (noch 12 Tage)"
        assert request_views.deadline_words(request(Status.SUBMITTED, due=date(2026, 12, 8)), TODAY) == (
            "fällig am 08.12.2026 (noch 1 Tag)")
        assert request_views.title(request(Status.SUBMITTED)) == (
            "Löschung: alle Telemetrie-Kategorien (Leistungsdaten bleiben erhalten)")


def test_a_closed_request_says_in_german_whether_it_kept_its_deadline():
    done = request(Status.COMPLETED, updated=datetime(2026, 12, 1, 10, tzinfo=UTC))
    with i18n.in_language("de"):
        assert request_views.deadline_words(done, TODAY) == "abgeschlossen am 01.12.2026, innerhalb der Frist bis 19.12.2026"
    assert request_views.deadline_words(done, TODAY) == "completed on 1 Dec 2026, within the deadline of 19 Dec 2026"


def test_a_receipt_is_summed_up_in_german():
    document = {"stores": {"telemetry": {"keystrokes": {"rows_removed": 1234, "version_before": 1, "version_after": 4}},
                           "metadata": {"dataset_members": {"rows_removed": 1}}},
                "datasets_flagged": [{"dataset": "keystroke-dynamics"}], "verification": {"result": "passed"}}
    assert request_views.receipt_summary(document) == (
        "1,234 records removed from keystrokes (table version 1 to 4); 1 dataset membership removed; "
        "1 dataset version flagged for rebuilding. Verification: passed.")
    with i18n.in_language("de"):
        assert request_views.receipt_summary(document) == (
            "1.234 Einträge aus keystrokes entfernt (Tabellenversion 1 bis 4); 1 Datensatz-Zugehörigkeit entfernt; "
            "1 Datensatzversion zur Neuerstellung markiert. Prüfung: bestanden.")


def test_a_refused_change_and_a_refused_extension_are_explained_in_german():
    with i18n.in_language("de"), pytest.raises(TransitionError, match="braucht eine Begründung"):
        check_transition(Status.IN_REVIEW, Status.REJECTED, "privacy_office", " ")
    with i18n.in_language("de"), pytest.raises(DeadlineError, match="bereits einmal verlängert"):
        extended_deadline(date(2026, 11, 19), 1, True, "many systems to search")
