"""Naming one login, so that logging out can end exactly that session."""

from portal.identity.sessions import session_key

LOGIN = {"iss": "http://localhost:9400", "sub": "bob", "aud": "telemetry-portal", "iat": 1_780_000_000,
         "auth_time": 1_780_000_000, "nonce": "n-1", "exp": 1_780_003_600}


def test_the_same_login_always_gets_the_same_name():
    assert session_key(dict(LOGIN)) == session_key(dict(reversed(list(LOGIN.items()))))


def test_a_new_login_of_the_same_person_gets_another_name():
    assert session_key({**LOGIN, "nonce": "n-2"}) != session_key(LOGIN)
    assert session_key({**LOGIN, "iat": LOGIN["iat"] + 60, "auth_time": LOGIN["auth_time"] + 60}) != session_key(LOGIN)


def test_another_person_or_issuer_gets_another_name():
    assert session_key({**LOGIN, "sub": "alice"}) != session_key(LOGIN)
    assert session_key({**LOGIN, "iss": "https://idp.example"}) != session_key(LOGIN)


def test_what_streamlit_adds_and_profile_claims_do_not_change_the_name():
    decorated = {**LOGIN, "is_logged_in": True, "provider": "default", "origin": "http://localhost:8501",
                 "name": "Bob Okafor", "email": "bob@example.com", "groups": ["sales"]}
    assert session_key(decorated) == session_key(LOGIN)


def test_the_name_is_a_hash_that_does_not_contain_the_subject():
    key = session_key(LOGIN)
    assert key is not None and len(key) == 64 and "bob" not in key


def test_claims_without_a_subject_or_an_issue_time_name_no_session():
    assert session_key({k: v for k, v in LOGIN.items() if k != "sub"}) is None
    assert session_key({k: v for k, v in LOGIN.items() if k not in ("iat", "auth_time")}) is None
    assert session_key({**LOGIN, "sub": ""}) is None
