from pathlib import Path

import pytest

from portal.core.settings import SettingsError, describe_settings, load_settings

ROOT = Path(__file__).resolve().parents[3]


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


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "0", "169", "1e308"])
def test_a_session_age_that_is_not_a_finite_number_of_hours_up_to_a_week_is_refused_naming_the_variable(
        monkeypatch, value):
    monkeypatch.setenv("PORTAL_MAX_SESSION_HOURS", value)
    with pytest.raises(SettingsError, match="PORTAL_MAX_SESSION_HOURS: .*more than 0 and at most 168 hours"):
        load_settings()


@pytest.mark.parametrize("value", ["1e-300", "0.009", "10.5", "nan", "inf", "-0.5", "0"])
def test_an_epsilon_outside_0_01_to_10_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("PORTAL_DP_EPSILON", value)
    with pytest.raises(SettingsError, match="PORTAL_DP_EPSILON: .*from 0.01 to 10"):
        load_settings()


@pytest.mark.parametrize(("epsilon", "hours"), [("0.01", "0.5"), ("10", "168")])
def test_the_bounds_themselves_are_accepted(monkeypatch, epsilon, hours):
    monkeypatch.setenv("PORTAL_DP_EPSILON", epsilon)
    monkeypatch.setenv("PORTAL_MAX_SESSION_HOURS", hours)
    settings = load_settings()
    assert (settings.dp_epsilon, settings.max_session_hours) == (float(epsilon), float(hours))


@pytest.mark.parametrize(("env", "value", "message"), [
    ("PORTAL_K_ANONYMITY", "1" + "0" * 24, "PORTAL_K_ANONYMITY: .*at most 1,000"),
    ("PORTAL_PAGE_SIZE", "1" + "0" * 24, "PORTAL_PAGE_SIZE: .*from 1 to 1,000"),
    ("PORTAL_TELEMETRY_BUCKETS", "5000", "PORTAL_TELEMETRY_BUCKETS: .*from 1 to 1,024"),
    ("PORTAL_DATABASE_URL", "foo", "PORTAL_DATABASE_URL: .*not a database URL"),
    ("PORTAL_DATABASE_URL", "mysql://host/db", "PORTAL_DATABASE_URL: .*not installed"),
    ("PORTAL_DATA_DIR", "/etc/hostname", "PORTAL_DATA_DIR: .*is a file, not a directory"),
    ("PORTAL_ROLE_GROUPS", "[" * 8000 + "]" * 8000, "PORTAL_ROLE_GROUPS is nested more than 64 levels deep"),
    ("PORTAL_MAX_PRINCIPALS", "[" * 8000 + "]" * 8000, "PORTAL_MAX_PRINCIPALS is nested more than 64 levels deep"),
], ids=["huge k", "huge page", "many buckets", "url garbage", "driver missing", "data dir a file", "deep groups",
        "deep limits"])
def test_a_setting_that_would_overflow_or_crash_later_is_refused_at_load_naming_the_variable(monkeypatch, env, value,
                                                                                           message):
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_a_company_sets_its_own_limits_per_category_by_key_or_short_name(monkeypatch):
    monkeypatch.setenv("PORTAL_MAX_PRINCIPALS", '{"performance": 80, "user.content.private.chat": 12}')
    assert load_settings().max_principals == {"user.workplace.performance": 80, "user.content.private.chat": 12}
    monkeypatch.delenv("PORTAL_MAX_PRINCIPALS")
    assert load_settings().max_principals == {}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('{"perf": 80}', "PORTAL_MAX_PRINCIPALS: .*unknown category 'perf'; known categories: keystrokes "
                         r"\(user.behavior.keystrokes\)"),
        ('{"chat": 0}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be at least 1, got 0"),
        ('{"chat": -3}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be at least 1, got -3"),
        ('{"chat": "ten"}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be a whole number .*got 'ten'"),
        ('{"chat": 2.5}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be a whole number .*got 2.5"),
        ('{"chat": true}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be a whole number .*got True"),
        ('{"chat": null}', "PORTAL_MAX_PRINCIPALS: .*the limit for 'chat' must be a whole number .*got None"),
        ('{"chat": 5, "user.content.private.chat": 6}', "PORTAL_MAX_PRINCIPALS: .*category "
                                                         "'user.content.private.chat' is given twice"),
        ("[80]", r"PORTAL_MAX_PRINCIPALS: .*must be a JSON object of category to limit, e.g. \{\"performance\": 80\}"),
        ("performance=80", r"PORTAL_MAX_PRINCIPALS must be JSON, e.g. \{\"performance\": 80\}"),
    ],
)
def test_a_bad_company_limit_is_named_with_its_category_and_value(monkeypatch, value, message):
    monkeypatch.setenv("PORTAL_MAX_PRINCIPALS", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [name for name, _default, _desc in describe_settings() if name not in readme]
    assert not missing, f"settings missing from README.md: {missing}"


def test_every_setting_has_a_description():
    assert all(desc for _name, _default, desc in describe_settings())
