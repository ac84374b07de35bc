"""Streamlit's sign-in routes build one TLS context, not one for every call to the identity provider."""

import ssl

from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.starlette_client import StarletteOAuth2App

import ui  # noqa: F401 - importing the glue shares the context, as the portal's first script run does


def recording_verify(monkeypatch) -> list:
    """The ``verify`` each new OAuth client is built with, in order."""
    seen = []
    build = AsyncOAuth2Client.__init__

    def init(self, *args, **kwargs):
        seen.append(kwargs.get("verify"))
        build(self, *args, **kwargs)

    monkeypatch.setattr(AsyncOAuth2Client, "__init__", init)
    return seen


def test_the_sign_in_routes_clients_share_one_verifying_tls_context(monkeypatch):
    verify = recording_verify(monkeypatch)
    for _ in range(3):  # as Streamlit's routes make them: a new OAuth app and client for each call
        StarletteOAuth2App.client_cls("telemetry-portal", "secret", scope="openid email profile")
    shared = verify[0]
    assert isinstance(shared, ssl.SSLContext)
    assert verify == [shared] * 3
    assert shared.verify_mode == ssl.CERT_REQUIRED and shared.check_hostname  # the default, verifying one


def test_a_client_given_its_own_tls_settings_keeps_them(monkeypatch):
    # e.g. [auth] client_kwargs = { verify = false } for a provider with a self-signed certificate
    verify = recording_verify(monkeypatch)
    own = ssl.create_default_context()
    StarletteOAuth2App.client_cls("telemetry-portal", "secret", verify=own)
    StarletteOAuth2App.client_cls("telemetry-portal", "secret", verify=False)
    assert verify == [own, False]
