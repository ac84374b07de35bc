"""The command line speaks the language of its environment: PORTAL_LANGUAGE, else the locale's, else English."""

from __future__ import annotations

import pytest

from portal import cli
from portal.core import i18n

LOCALE_SETTINGS = ("PORTAL_LANGUAGE", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run(monkeypatch, capsys, tmp_path, *argv: str, **environment: str) -> tuple[int, str, str]:
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    monkeypatch.delenv("PORTAL_CATALOG", raising=False)
    for name in LOCALE_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def shown_catalog(monkeypatch, capsys, tmp_path) -> str:
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "show")
    assert code == 0
    shown = tmp_path / "shown.toml"
    shown.write_text(out)
    return str(shown)


def test_portal_language_de_checks_a_catalog_in_german(monkeypatch, capsys, tmp_path):
    shown = shown_catalog(monkeypatch, capsys, tmp_path)
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "check", shown, PORTAL_LANGUAGE="de")
    assert code == 0
    assert f"{shown}: ein verwendbarer Katalog: 6 Kategorien, 6 Zwecke; Widerspruch möglich gegen: " in out
    assert "auf Antrag nicht löschbar: user.workplace.performance." in out


def test_without_a_setting_the_same_check_reads_as_it_always_has(monkeypatch, capsys, tmp_path):
    shown = shown_catalog(monkeypatch, capsys, tmp_path)
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "check", shown)
    assert code == 0 and f"{shown}: a usable catalog: 6 categories, 6 purposes; open to objection: " in out


def test_a_command_refused_in_german_exits_2_with_the_reason_in_german(monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, tmp_path, "export", "E00001", "--out", str(tmp_path / "copy.zip"),
                         "--reason", "  ", PORTAL_LANGUAGE="de")
    assert code == 2 and out == ""
    assert err == ("portal export: --reason muss angeben, warum die Kopie erstellt wird; die betroffene Person "
                   "liest die Begründung\n")


def test_a_bad_value_is_named_in_german_with_german_number_formats(monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, capsys, tmp_path, "seed", "--employees", "200000", PORTAL_LANGUAGE="de")
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert "argument --employees: muss zwischen 1 und 100.000 liegen (erhalten: 200000)" in err


def test_the_help_of_a_command_is_in_german(monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as stopped:
        run(monkeypatch, capsys, tmp_path, "requests", "extend", "--help", PORTAL_LANGUAGE="de")
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "Begründung; die oder der Beschäftigte liest sie" in out and "weitere Monate (Standard 2)" in out


def test_an_unknown_portal_language_exits_2_naming_the_setting(monkeypatch, capsys, tmp_path):
    code, out, err = run(monkeypatch, capsys, tmp_path, "catalog", "show", PORTAL_LANGUAGE="fr")
    assert code == 2 and out == ""
    assert err == "portal: PORTAL_LANGUAGE: unknown language 'fr'; the portal speaks en, de\n"


def test_the_locale_chooses_german_and_a_language_the_portal_lacks_falls_back_to_english(monkeypatch, capsys,
                                                                                        tmp_path):
    shown = shown_catalog(monkeypatch, capsys, tmp_path)
    _code, out, _err = run(monkeypatch, capsys, tmp_path, "catalog", "check", shown, LANG="de_DE.UTF-8")
    assert "ein verwendbarer Katalog" in out
    _code, out, _err = run(monkeypatch, capsys, tmp_path, "catalog", "check", shown, LANG="fr_FR.UTF-8")
    assert "a usable catalog" in out
    _code, out, _err = run(monkeypatch, capsys, tmp_path, "catalog", "check", shown, LANG="de_DE.UTF-8",
                           PORTAL_LANGUAGE="en")
    assert "a usable catalog" in out


def test_a_german_run_leaves_its_caller_in_the_language_it_had(monkeypatch, capsys, tmp_path):
    shown = shown_catalog(monkeypatch, capsys, tmp_path)
    with i18n.in_language("en"):
        run(monkeypatch, capsys, tmp_path, "catalog", "check", shown, PORTAL_LANGUAGE="de")
        assert i18n.language() == "en"
