"""Problems with a line of input read in the reader's language; field names and values stay as they are."""

from datetime import UTC, datetime

import pytest

from portal.core.i18n import in_language
from portal.core.line_input import Fields, IngestRejected, Problem, Problems

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def rejected(problems: Problems) -> str:
    with pytest.raises(IngestRejected) as caught:
        problems.raise_if_any("events.jsonl")
    return str(caught.value)


def test_a_refused_line_names_its_place_and_field_in_german():
    problems = Problems()
    fields = Fields({"count": -3, "extra": 1}, 4, problems)
    with in_language("de"):
        fields.count("count")
        fields.unknown(["count"])
        message = rejected(problems)
    assert message.splitlines() == [
        "2 Probleme in events.jsonl; nichts wurde geschrieben:",
        "  Zeile 4: count: darf nicht negativ sein (erhalten: -3)",
        "  Zeile 4: extra: ist kein bekanntes Feld",
    ]


def test_the_same_problems_read_in_english_by_default():
    problems = Problems()
    Fields({"count": -3}, 4, problems).count("count")
    assert rejected(problems).splitlines() == ["1 problem(s) in events.jsonl; nothing was written:",
                                                "  line 4: count: must not be negative (got -3)"]


def test_a_time_without_a_zone_is_explained_in_german_quoting_the_value():
    problems = Problems()
    with in_language("de"):
        Fields({"ts": "2026-03-01T09:00:00"}, 1, problems).timestamp("ts", NOW)
        text = str(problems.items[0])
    assert text == "Zeile 1: ts: '2026-03-01T09:00:00' hat keine Zeitzone; ergänzen Sie eine, z. B. Z für UTC"


def test_a_row_of_a_parquet_file_is_named_as_a_row():
    with in_language("de"):
        assert str(Problem(3, None, "fehlt", unit="row")) == "Zeile 3: fehlt"
        assert str(Problem(2, None, "fehlt", unit="record")) == "Datensatz 2: fehlt"
