"""The catalog's texts in the reader's language, and one colour per category for everyone."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.core import catalog, catalog_file, i18n
from portal.core.catalog_model import PALETTE, english
from tests.catalogs import BADGE_KEY, extended_catalog

DEFAULT = catalog.DEFAULT_FILE.read_text()
CHAT = "user.content.private.chat"


def load(tmp_path: Path, text: str) -> catalog.Catalog:
    path = tmp_path / "catalog.toml"
    path.write_text(text)
    return catalog_file.load(path)


def problems(tmp_path: Path, text: str) -> str:
    with pytest.raises(catalog_file.CatalogError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_the_german_label_description_and_legal_basis_show_when_german_is_in_use():
    chat = catalog.category(CHAT)
    with i18n.in_language("de"):
        assert chat.name == "Chatnachrichten"
        assert chat.description.startswith("Nachrichten, die Sie")
        assert chat.legal_basis == "DSGVO Art. 6 Abs. 1 lit. b, Arbeitsvertrag"
        assert chat.legal_basis_for("legal.compliance") == "DSGVO Art. 6 Abs. 1 lit. c, rechtliche Verpflichtung"
        assert catalog.PURPOSE_BY_CODE["train_ai_system"].name == "Training von KI-Systemen"
        assert chat.label("channel") == "Kanal" and chat.label("ts") == "Zeitpunkt (UTC)"
        assert catalog.COLUMN_LABELS["key_count"] == "Gedrückte Tasten"
        assert catalog.COLUMN_MEANINGS["subject_id"].startswith("Ihre Personalnummer")
    assert chat.name == "Chat messages" and chat.legal_basis_for("legal.compliance").startswith("GDPR Art. 6(1)(c)")
    assert catalog.COLUMN_LABELS["key_count"] == "Keys pressed"


def test_every_text_of_the_six_demo_categories_and_their_purposes_has_german():
    with i18n.in_language("de"):
        for purpose in catalog.PURPOSES:
            assert purpose.name != english(purpose, "name")
            assert purpose.description != english(purpose, "description")
        for category in catalog.CATEGORIES:
            assert category.name != english(category, "name")
            assert category.description != english(category, "description")
            for code in category.purposes:
                assert category.legal_basis_for(code).startswith("DSGVO"), (category.key, code)
            for column in category.columns:
                assert column.meaning != english(column, "meaning"), (category.key, column.name)


def test_whether_a_person_may_object_is_read_from_the_english_basis_in_either_language():
    performance = catalog.category("user.workplace.performance")
    with i18n.in_language("de"):
        assert performance.objectionable_purposes == ("train_ai_system",)


def test_a_text_without_german_falls_back_to_english(tmp_path):
    plain = load(tmp_path, DEFAULT.replace('name_de = "Chatnachrichten"\n', ""))
    chat = {c.key: c for c in plain.categories}[CHAT]
    with i18n.in_language("de"):
        assert chat.name == "Chat messages"
        assert chat.description.startswith("Nachrichten, die Sie")  # the translations it has still show
    badge = {c.key: c for c in catalog_file.load(extended_catalog(tmp_path)).categories}[BADGE_KEY]
    with i18n.in_language("de"):
        assert badge.name == english(badge, "name") and badge.label("door") == "Door"


def test_a_bad_or_unknown_translation_is_refused_naming_the_category_and_the_field(tmp_path):
    message = problems(tmp_path, DEFAULT.replace('name_de = "Chatnachrichten"', "name_de = 3"))
    assert f"category '{CHAT}': name_de must be non-empty text" in message
    message = problems(tmp_path, DEFAULT.replace('name_de = "Chatnachrichten"', 'name_fr = "Messages"'))
    assert "unknown category field 'name_fr'" in message
    message = problems(tmp_path, DEFAULT.replace('"legal.compliance" = "DSGVO', '"train_ai_systemx" = "DSGVO'))
    assert "legal_basis_by_purpose_de names 'train_ai_systemx', which legal_basis_by_purpose does not" in message


def test_the_translations_and_colours_written_as_toml_read_back_the_same(tmp_path):
    again = load(tmp_path, catalog_file.to_toml(catalog.active()))
    assert again.categories == catalog.active().categories and again.purposes == catalog.active().purposes
    with i18n.in_language("de"):
        assert [c.name for c in again.categories] == [c.name for c in catalog.CATEGORIES]


def test_each_demo_category_has_its_own_colour_from_the_catalog():
    colours = catalog.colours()
    assert colours[CHAT] == "#cc79a7" and colours["user.behavior.keystrokes"] == "#0072b2"
    assert len(set(colours.values())) == len(colours) == 6
    assert catalog.colours_by_name()["Chat messages"] == "#cc79a7"
    with i18n.in_language("de"):
        assert catalog.colours_by_name()["Chatnachrichten"] == "#cc79a7"


def test_a_category_without_a_colour_gets_one_from_the_palette_chosen_by_its_key(tmp_path):
    first = {c.key: c.colour for c in catalog_file.load(extended_catalog(tmp_path)).categories}
    (tmp_path / "again").mkdir()
    again = {c.key: c.colour for c in catalog_file.load(extended_catalog(tmp_path / "again")).categories}
    assert first[BADGE_KEY] in PALETTE and first[BADGE_KEY] == again[BADGE_KEY]
    assert len(set(first.values())) == len(first)  # chosen among the colours no other category has
    uncoloured = load(tmp_path, "\n".join(line for line in DEFAULT.splitlines() if not line.startswith("colour =")))
    assert len({c.colour for c in uncoloured.categories}) == 6


def test_a_malformed_faint_or_shared_colour_is_refused_naming_the_category_and_the_field(tmp_path):
    message = problems(tmp_path, DEFAULT.replace('colour = "#cc79a7"', 'colour = "pink"'))
    assert f"category '{CHAT}': colour must be \"#rrggbb\"" in message and "got 'pink'" in message
    message = problems(tmp_path, DEFAULT.replace('colour = "#cc79a7"', 'colour = "#f0e442"'))
    assert f"category '{CHAT}': colour '#f0e442' has a contrast of 1.3:1 against the white page" in message
    message = problems(tmp_path, DEFAULT.replace('colour = "#cc79a7"', 'colour = "#0072B2"'))
    assert f"category '{CHAT}': colour '#0072b2' is already the colour of category 'user.behavior.keystrokes'" \
        in message
