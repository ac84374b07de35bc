"""The works council's captions, table words and findings in German; English stays as it was."""

from datetime import date

from portal.core.i18n import in_language
from portal.council import council_tables, exposure_findings, figures


def test_the_k_caption_reads_in_german_with_its_k():
    with in_language("de"):
        sentence = council_tables.k_sentence(5)
    assert sentence.startswith("Jede Kennzahl beschreibt mindestens 5 Personen")
    assert "nächste Vielfache von 5" in sentence


def test_a_hidden_cell_and_the_codes_of_a_table_read_in_german():
    with in_language("de"):
        assert council_tables.hidden_label(5) == "ausgeblendet"
        assert "„ausgeblendet“" in council_tables.hidden_reason(5)
        assert council_tables.label("kind", "access") == "Kopie der Daten"
        assert council_tables.label("deadline", figures.NOT_DUE) == "noch nicht fällig"
        assert council_tables.label("department", figures.NO_DEPARTMENT) == "(keine Abteilung erfasst)"
    assert council_tables.label("department", figures.NO_DEPARTMENT) == "(no department on record)"


def test_the_weeks_of_a_finding_read_in_the_language_in_use():
    weeks = [date(2026, 3, 2), date(2026, 3, 9)]
    assert exposure_findings.days(weeks[:1]) == "In the week of 02 Mar 2026"
    with in_language("de"):
        assert exposure_findings.days(weeks) == "In 2 Wochen zwischen dem 02.03.2026 und dem 09.03.2026"


def test_a_refused_grouping_is_explained_in_german():
    with in_language("de"):
        try:
            figures.collection_view("team", "week")
        except figures.WorksCouncilError as exc:
            message = str(exc)
        else:
            raise AssertionError("an unknown grouping was accepted")
    assert message == "unbekannte Gruppierung 'team'; gruppieren Sie nach einem oder beiden von: department, category " \
                      "(z. B. department,category)"
