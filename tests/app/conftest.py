import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from portal import bootstrap
from portal.demo import seed as demo
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.demo.personas import PERSONA_BY_SUB
from portal.core.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret-test-cookie-secret",
    "client_id": "telemetry-portal",
    "client_secret": "test-client-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}


@pytest.fixture(scope="session")
def app_data_dir(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("app-data")
    demo.seed(load_settings(data_dir=data_dir), employees=30, days=10, seed=7)
    return data_dir


@pytest.fixture
def app(app_data_dir, monkeypatch):
    """A fresh AppTest of the whole portal over a small seeded company."""
    monkeypatch.setenv("PORTAL_DATA_DIR", str(app_data_dir))
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)

    def make(user=None, script="app.py", secrets=True):
        at = AppTest.from_file(str(ROOT / script), default_timeout=30)
        if secrets:
            at.secrets["auth"] = dict(AUTH)
        else:
            # AppTest falls back to the real .streamlit/secrets.toml (which `make demo` writes)
            # when given no secrets at all; a section other than [auth] keeps it out.
            at.secrets["unrelated"] = {"note": "no [auth] section here"}
        at.user = user if user is not None else {"is_logged_in": False}
        return at

    yield make
    AppTest.from_string("import streamlit as st\nst.cache_resource.clear()\nst.cache_data.clear()").run()


def signed_in(sub, *, age_hours=0.1, **extra):
    """The claims Streamlit would hold for ``sub`` as issued by the local provider."""
    persona = PERSONA_BY_SUB.get(sub)
    claims = dict(persona.claims()) if persona else {"sub": sub, "email": sub}
    claims.update(iss="http://localhost:9400", aud="telemetry-portal", iat=int(time.time() - age_hours * 3600))
    claims.update(extra)
    claims["is_logged_in"] = True
    return claims


@pytest.fixture
def services(app_data_dir):
    """The portal's services over this module's company (a module may bring its own ``app_data_dir``)."""
    found = bootstrap.build(load_settings(data_dir=app_data_dir))
    yield found
    found.engine.dispose()


def who(services, sub):
    """The principal of a demo persona, as the portal derives it from the provider's claims."""
    return principal_from_claims(PERSONA_BY_SUB[sub].claims(), services.directory, ClaimRules.from_settings(services.settings))


def texts(at) -> str:
    """Every text a person reads on the page, in one string."""
    parts = [e.value for e in at.title] + [e.value for e in at.markdown] + [e.value for e in at.caption]
    parts += [e.value for e in at.error] + [e.value for e in at.warning] + [e.value for e in at.info]
    parts += [e.value for e in at.success] + [e.value for e in at.subheader]
    return "\n".join(str(p) for p in parts)


def open_page(app, sub: str, page: str):
    """Sign in as ``sub`` and go to ``page`` the way the navigation does."""
    at = app(signed_in(sub))
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at
