"""The catalog is data: a TOML file, checked with messages that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.core import catalog, catalog_file
from tests.catalogs import BADGE_KEY, extended_catalog

DEFAULT = catalog.DEFAULT_FILE.read_text()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return path


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(catalog_file.CatalogError) as caught:
        catalog_file.load(write(tmp_path, text))
    return str(caught.value)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_default_catalog_declares_the_six_demo_categories():
    loaded = catalog_file.load(catalog.DEFAULT_FILE)
    assert [c.table_name for c in loaded.categories] == [
        "keystrokes", "mouse_activity", "app_usage", "chat_messages", "transcript_segments", "performance_records"]
    assert catalog.active().categories == loaded.categories


def test_performance_management_stays_contractual_while_training_ai_on_the_same_records_is_objectionable():
    performance = catalog.category("user.workplace.performance")
    assert performance.legal_basis_for("employment.performance_management").startswith("GDPR Art. 6(1)(b)")
    assert performance.legal_basis_for("train_ai_system").startswith("GDPR Art. 6(1)(f)")
    assert performance.objectionable_purposes == ("train_ai_system",)
    assert not performance.erasable


def test_whether_a_person_may_object_follows_from_the_basis_of_each_purpose():
    assert catalog.objectionable_basis("GDPR Art. 6(1)(f) legitimate interests")
    assert catalog.objectionable_basis("Art. 6 (1) (e) GDPR, a task in the public interest")
    assert catalog.objectionable_basis("consent of the employee")
    assert not catalog.objectionable_basis("GDPR Art. 6(1)(b) employment contract")
    assert not catalog.objectionable_basis("GDPR Art. 6(1)(c) legal obligation")
    assert catalog.basis_ground("BDSG §26 and a works agreement") is None


def test_the_effective_catalog_written_as_toml_reads_back_to_the_same_catalog(tmp_path):
    current = catalog_file.load(extended_catalog(tmp_path))
    shown = tmp_path / "shown"
    shown.mkdir()
    again = catalog_file.load(write(shown, catalog_file.to_toml(current)))
    assert again.categories == current.categories and again.purposes == current.purposes


def test_a_declared_category_has_its_columns_time_column_and_bases(tmp_path):
    badge = {c.key: c for c in catalog_file.load(extended_catalog(tmp_path)).categories}[BADGE_KEY]
    assert badge.schema.names == ["subject_id", "bucket", "swiped_at", "door", "granted", "attempts"]
    assert str(badge.schema.field("attempts").type) == "int16"
    assert badge.label("door") == "Door" and badge.label("attempts") == "Attempts"
    assert badge.objectionable_purposes == ("train_ai_system",)  # consent can be withdrawn; the law's duty not


def test_a_legal_basis_naming_no_ground_of_article_6_is_refused_with_its_line(tmp_path):
    text = DEFAULT.replace('legal_basis = "GDPR Art. 6(1)(f) legitimate interests"', 'legal_basis = "because"', 1)
    message = problems(tmp_path, text)
    assert f"line {line_of(text, 'because')}:" in message
    assert "names none of GDPR Art. 6(1)(a) consent" in message


def test_every_problem_is_named_with_its_line_not_only_the_first(tmp_path):
    text = (DEFAULT.replace("retention_days = 180", "retention_days = 0", 1)
            .replace('table = "app_usage"', 'table = "keystrokes"')
            .replace('window_minutes = { type = "int16"', 'window_minutes = { type = "int8"', 1))
    message = problems(tmp_path, text)
    assert f"line {line_of(text, 'retention_days = 0')}: retention_days must be a whole number from 1" in message
    assert "table 'keystrokes' is declared by two categories" in message
    assert "type 'int8' is none of string, int16, int32, int64, float64, bool, timestamp" in message


def test_a_purpose_not_declared_and_an_override_for_a_purpose_the_category_lacks_are_refused(tmp_path):
    text = DEFAULT.replace('purposes = ["analytics.reporting.productivity", "train_ai_system"]',
                           'purposes = ["analytics.reporting.productivity", "surveillance"]', 1)
    assert "purpose(s) 'surveillance' are not declared in [[purposes]]" in problems(tmp_path, text)
    text = DEFAULT.replace('"legal.compliance" = "GDPR Art. 6(1)(c) legal obligation"',
                           '"analytics.reporting.productivity" = "GDPR Art. 6(1)(c) legal obligation"')
    assert "not one of this category's purposes" in problems(tmp_path, text)


def test_the_works_council_and_plain_employees_can_never_be_readers_of_a_category(tmp_path):
    text = DEFAULT.replace('allowed_roles = ["ml-platform", "privacy_office"]',
                           'allowed_roles = ["ml-platform", "works_council"]', 1)
    assert "allowed_roles may not name works_council" in problems(tmp_path, text)


def test_reserved_and_unknown_fields_and_missing_ones_are_named(tmp_path):
    text = DEFAULT.replace("device = {", "subject_id = {", 1).replace('kind = "record"', 'kind = "record"\nshade = 1')
    message = problems(tmp_path, text)
    assert "column 'subject_id': a lower-case name not subject_id, bucket or the time column" in message
    assert "unknown category field 'shade'" in message
    text = DEFAULT.replace("erasable = true\n", "", 1)
    assert "the category lacks erasable" in problems(tmp_path, text)


def test_not_toml_not_utf8_and_a_missing_file_get_a_message_not_a_traceback(tmp_path):
    assert "not valid TOML" in problems(tmp_path, "[[categories]\nkey=")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"name = '\xe9'")
    with pytest.raises(catalog_file.CatalogError, match="not UTF-8"):
        catalog_file.load(path)
    with pytest.raises(catalog_file.CatalogError, match="cannot read the catalog file"):
        catalog_file.load(tmp_path / "absent.toml")


def test_the_setting_puts_a_catalog_in_force_and_a_broken_one_is_named_at_start(tmp_path, monkeypatch):
    from portal.core.settings import SettingsError, load_settings

    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PORTAL_CATALOG", str(extended_catalog(tmp_path)))
    load_settings()
    assert catalog.category(BADGE_KEY).table_name == "badge_swipes"
    assert "badge_swipes" in catalog.TABLE_SCHEMAS
    monkeypatch.setenv("PORTAL_CATALOG", str(write(tmp_path, DEFAULT.replace("max_principals = 25", "max_principals = -1", 1))))
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert f"line {line_of(DEFAULT, 'max_principals = 25')}: max_principals must be a whole number" in str(caught.value)
    assert str(caught.value).count("max_principals must be") == 1
