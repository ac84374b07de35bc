"""`portal catalog show|check`: the catalog in force, and a file checked before use."""

from __future__ import annotations

import json

import pytest

from portal import cli
from portal.core import catalog
from tests.catalogs import BADGE_KEY, extended_catalog


def run(monkeypatch, capsys, tmp_path, *argv: str, catalog_file: str | None = None) -> tuple[int, str, str]:
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    if catalog_file is None:
        monkeypatch.delenv("PORTAL_CATALOG", raising=False)
    else:
        monkeypatch.setenv("PORTAL_CATALOG", catalog_file)
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_show_prints_the_default_catalog_as_toml_that_check_accepts(monkeypatch, capsys, tmp_path):
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "show")
    assert code == 0 and 'key = "user.workplace.performance"' in out
    assert '"train_ai_system" = "GDPR Art. 6(1)(f) legitimate interests"' in out
    shown = tmp_path / "shown.toml"
    shown.write_text(out)
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "check", str(shown))
    assert code == 0 and "a usable catalog: 6 categories, 6 purposes" in out
    assert "not erasable on request: user.workplace.performance" in out


def test_show_prints_the_catalog_the_setting_names_as_json(monkeypatch, capsys, tmp_path):
    code, out, _ = run(monkeypatch, capsys, tmp_path, "catalog", "show", "--format", "json",
                       catalog_file=str(extended_catalog(tmp_path)))
    assert code == 0
    shown = {c["key"]: c for c in json.loads(out)["categories"]}
    assert shown[BADGE_KEY]["objectionable_purposes"] == ["train_ai_system"]
    assert shown[BADGE_KEY]["columns"]["granted"]["type"] == "bool"
    assert shown["user.workplace.performance"]["objectionable_purposes"] == ["train_ai_system"]


def test_check_names_the_line_of_each_problem_and_exits_2(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(catalog.DEFAULT_FILE.read_text().replace("max_principals = 20", "max_principals = 0"))
    code, out, err = run(monkeypatch, capsys, tmp_path, "catalog", "check", str(bad))
    line = next(i for i, t in enumerate(bad.read_text().splitlines(), 1) if t == "max_principals = 0")
    assert code == 2 and out == ""
    assert f"{bad} line {line}: max_principals must be a whole number from 1 to 100,000 (got 0)" in err
    assert "Traceback" not in err


def test_a_broken_catalog_in_the_setting_stops_every_command_with_its_line(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(catalog.DEFAULT_FILE.read_text().replace('table = "app_usage"', 'table = "App Usage"'))
    code, _, err = run(monkeypatch, capsys, tmp_path, "catalog", "show", catalog_file=str(bad))
    assert code == 2 and "PORTAL_CATALOG" in err and "table 'App Usage': lower-case letters" in err
    assert "Traceback" not in err


def test_migrate_creates_the_empty_table_of_a_newly_declared_category_and_the_portal_then_starts(
        monkeypatch, capsys, tmp_path):
    from portal import bootstrap
    from portal.demo import seed as demo
    from tests.conftest import make_settings

    demo.seed(make_settings(tmp_path / "data"), employees=6, days=2, seed=1)
    path = str(extended_catalog(tmp_path))
    monkeypatch.setenv("PORTAL_CATALOG", path)
    with pytest.raises(bootstrap.BootstrapError, match="'badge_swipes' .Badge swipes. is missing.*portal migrate"):
        bootstrap.build(make_settings(tmp_path / "data", catalog=path))
    code, out, _ = run(monkeypatch, capsys, tmp_path, "migrate", catalog_file=path)
    assert code == 0 and "Created empty telemetry table(s) for newly declared categories: badge_swipes." in out
    services = bootstrap.build(make_settings(tmp_path / "data", catalog=path))
    services.engine.dispose()
