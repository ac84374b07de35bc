"""A person's copy is explained in the language of the person who asked for it; its codes stay the same."""

from __future__ import annotations

import json
import zipfile

from portal.core import i18n
from portal.privacy import export
from tests.integration.audit.test_access_events import principal, sqlite_engine
from tests.integration.privacy.test_export import ALICE, make_store, rows_for


def test_a_copy_made_in_german_has_a_german_readme_and_the_same_codes(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE, ALICE]))
    with i18n.in_language("de"):
        report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        readme = archive.read("README.txt").decode()
        manifest = json.loads(archive.read("manifest.json"))
    assert readme.startswith(f"Eine Kopie aller Daten, die das Unternehmen über Alice Lindqvist ({ALICE})")
    assert "auf Ihren eigenen Wunsch im Portal" in readme
    for heading in ("DATEIEN", "CODES UND BEZEICHNUNGEN", "KATEGORIEN", "HINWEIS ZU CSV", "IHRE RECHTE"):
        assert f"\n{heading}\n" in readme
    assert "2 Einträge." in readme and "Art. 15 DSGVO, Auskunft:" in readme
    assert "YOUR RIGHTS" not in readme and "records." not in readme
    for name in ("manifest.json", "you.json", "access_events", "dataset_memberships", "models", "telemetry/"):
        assert name in readme
    assert [r["article"] for r in manifest["your_rights"]][:2] == ["GDPR Art. 15", "GDPR Art. 16"]
    assert manifest["your_rights"][0]["right"] == "Auskunft"
    meanings = {c["column"]: c["meaning"] for e in manifest["files"] if e["path"] == "access_events.jsonl"
                for c in e["schema"] or []}
    assert meanings["event_id"] == "Die Kennung des Zugriffs im Zugriffsprotokoll des Unternehmens."


def test_a_copy_made_in_english_keeps_its_english_readme(tmp_path):
    engine, store = sqlite_engine(tmp_path), make_store(tmp_path / "data")
    store.append("chat_messages", rows_for("chat_messages", [ALICE]))
    report = export.build_my_copy(engine, store, principal(ALICE), tmp_path / "copies")
    with zipfile.ZipFile(report.path) as archive:
        readme = archive.read("README.txt").decode()
    assert readme.startswith(f"A copy of everything the company holds about Alice Lindqvist ({ALICE})")
    assert "\nYOUR RIGHTS\n" in readme and "  GDPR Art. 15 Access: You may get confirmation" in readme
    assert "1 record." in readme
