from pathlib import Path

import pytest

from portal.settings import SettingsError, describe_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_sensible():
    s = load_settings()
    assert s.k_anonymity == 5 and s.max_session_hours == 8 and s.dp_epsilon is None
    assert s.role_groups == {"works-council": "works_council", "privacy-office": "privacy_office"}


def test_the_sqlite_file_lives_in_the_data_directory(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/portal.db"


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("PORTAL_K_ANONYMITY", "1", "PORTAL_K_ANONYMITY: .*at least 2"),
        ("PORTAL_DP_EPSILON", "-0.5", "PORTAL_DP_EPSILON: .*positive"),
        ("PORTAL_MAX_SESSION_HOURS", "0", "PORTAL_MAX_SESSION_HOURS"),
        ("PORTAL_ROLE_GROUPS", '{"admins": "superuser"}', "unknown role 'superuser'"),
        ("PORTAL_ROLE_GROUPS", "not json", "PORTAL_ROLE_GROUPS"),
        ("PORTAL_ACTOR_NAMING", "everything", "PORTAL_ACTOR_NAMING"),
    ],
)
def test_a_bad_setting_is_named_in_the_error(monkeypatch, env, value, message):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _default, _desc in describe_settings() if name not in readme]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_setting_has_a_description():
    assert all(desc for _name, _default, desc in describe_settings())
