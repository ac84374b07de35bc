"""Every page, every role, through Streamlit's AppTest."""

from tests.app.conftest import signed_in


def texts(at):
    parts = [e.value for e in at.title] + [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    return "\n".join(str(p) for p in parts)


def test_a_visitor_who_is_not_signed_in_sees_only_the_login_screen(app):
    at = app()
    at.run()
    assert not at.exception
    assert "Telemetry transparency portal" in texts(at)
    assert not at.dataframe


def test_missing_sign_in_secrets_are_explained_with_the_fix(app):
    at = app(secrets=False)
    at.run()
    assert not at.exception
    assert "secrets.toml" in at.error[0].value and "make demo" in at.error[0].value


def test_incomplete_sign_in_secrets_name_the_missing_keys(app):
    at = app()
    del at.secrets["auth"]["client_secret"]
    at.run()
    assert "client_secret" in at.error[0].value


def test_an_unreachable_provider_is_named_on_the_login_screen(app):
    at = app()
    at.run()
    assert not at.exception
    assert "not reachable" in at.error[0].value and "127.0.0.1:9" in at.error[0].value


def test_alice_sees_her_own_data(app):
    at = app(signed_in("alice"))
    at.run()
    assert not at.exception
    assert at.title[0].value == "My data"
    assert "Alice Lindqvist" in texts(at)
    assert len(at.dataframe) == 2  # holdings and recent records
    assert at.metric[0].label == "Categories held" and int(at.metric[0].value) >= 5


def test_bob_sees_his_own_data_not_alices(app):
    at = app(signed_in("bob"))
    at.run()
    assert not at.exception
    assert "Bob Okafor" in texts(at) and "Alice" not in texts(at)


def test_paging_through_records_stays_on_the_signed_in_person(app):
    at = app(signed_in("alice"))
    at.run()
    at.selectbox(key="records-category").select("Chat messages").run()
    assert not at.exception
    assert "Chat messages" in texts(at)


def test_wanda_and_priya_see_their_own_data_and_their_rights(app):
    for sub, role in (("wanda", "Works council"), ("priya", "Privacy office")):
        at = app(signed_in(sub))
        at.run()
        assert not at.exception and at.title[0].value == "My data"
        at.switch_page("app_pages/my_access.py").run()
        assert not at.exception
        assert role in texts(at)


def test_an_unknown_subject_is_told_plainly_and_sees_nobodys_data(app):
    at = app(signed_in("mallory"))
    at.run()
    assert not at.exception
    assert at.title[0].value == "We have no record of you"
    assert not at.dataframe and not at.metric


def test_an_unverified_email_of_a_colleague_opens_nothing(app):
    at = app(signed_in("mallory", email="alice@example.com", email_verified=False))
    at.run()
    assert at.title[0].value == "We have no record of you"
    assert "Alice Lindqvist" not in texts(at)


def test_a_group_without_a_role_is_named(app):
    at = app(signed_in("stranger", groups=["finance-admins"]))
    at.run()
    assert not at.exception
    assert "finance-admins" in texts(at)


def test_a_session_older_than_the_maximum_age_must_sign_in_again(app):
    at = app(signed_in("alice", age_hours=9))
    at.run()
    assert not at.exception
    assert at.title[0].value == "Your session has expired"
    assert not at.dataframe


def test_the_my_data_page_guards_itself_when_opened_directly(app):
    at = app(signed_in("mallory"), script="app_pages/my_data.py")
    at.run()
    assert not at.exception
    assert "do not have access" in at.error[0].value
    assert not at.dataframe


def test_the_my_data_page_refuses_a_visitor_who_is_not_signed_in(app):
    at = app(script="app_pages/my_data.py")
    at.run()
    assert "sign in" in at.error[0].value
    assert not at.dataframe


def test_a_missing_data_directory_is_explained_without_a_traceback(app, monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_DATA_DIR", str(tmp_path / "nowhere"))
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import streamlit as st\nst.cache_resource.clear()").run()
    at = app(signed_in("alice"))
    at.run()
    assert not at.exception
    assert "does not exist" in at.error[0].value and "portal seed" in at.error[0].value


def test_a_changed_log_origin_is_explained_naming_the_setting_without_a_traceback(app, monkeypatch):
    monkeypatch.setenv("PORTAL_LOG_ORIGIN", "elsewhere.example/log")
    from streamlit.testing.v1 import AppTest

    AppTest.from_string("import streamlit as st\nst.cache_resource.clear()").run()
    at = app(signed_in("alice"))
    at.run()
    assert not at.exception
    assert "PORTAL_LOG_ORIGIN is 'elsewhere.example/log'" in at.error[0].value
    assert not at.dataframe


def test_record_columns_are_labelled_in_words(app):
    at = app(signed_in("alice"))
    at.run()
    columns = list(at.dataframe[1].value.columns)
    assert columns[0] == "When (UTC)" and "ts" not in columns and "subject_id" not in columns
