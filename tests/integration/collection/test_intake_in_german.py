"""A refused telemetry batch explains itself in the reader's language; the file's own names stay as they are."""

from __future__ import annotations

from portal.core.i18n import in_language
from tests.integration.collection.test_intake import as_text, lite, refused, rows, store  # noqa: F401 - fixtures


def test_a_bad_csv_value_is_refused_in_german_naming_line_column_and_value(lite, store, tmp_path):  # noqa: F811
    path = tmp_path / "b.csv"
    as_text(rows(5)).write_csv(path)
    text = path.read_text().splitlines()
    text[3] = text[3].replace(",15,", ",fifteen,")
    path.write_text("\n".join(text) + "\n")
    with in_language("de"):
        message = refused(lite, store, str(path))
    assert message.startswith(f"1 Problem in {path}; nichts wurde geschrieben:")
    assert "Zeile 4: window_minutes: 'fifteen' ist keine ganze Zahl" in message


def test_an_empty_file_is_refused_in_german_saying_what_is_expected(lite, store, tmp_path):  # noqa: F811
    path = tmp_path / "b.csv"
    path.write_bytes(b"")
    with in_language("de"):
        message = refused(lite, store, str(path))
    assert message == f"{path} ist leer; erwartet: Parquet (.parquet), CSV mit Kopfzeile (.csv) oder JSON Lines, " \
                      "ein Objekt je Zeile (.jsonl)"
