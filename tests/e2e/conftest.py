"""Browser tests: Debian's Chromium through the real login at the local OIDC provider."""

import contextlib
import os
from pathlib import Path

import pytest

from portal.demo import seed as demo, devserver
from portal.core.settings import load_settings

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    reason = "Debian's chromium is not installed (apt-get install -y chromium)"
    for item in items:
        if "tests/e2e" in str(item.fspath):
            if os.environ.get("CI") == "true":
                item.add_marker(pytest.mark.xfail(reason=reason, run=False, strict=True))
            else:
                item.add_marker(pytest.mark.skip(reason=reason))


@contextlib.contextmanager
def running_portal(base, seed):
    """A small seeded company behind the local provider and the portal; yields the portal's URL.

    Both listen on ports free at the time (a bind to port 0), so a running demo or another test run
    is never in the way.
    """
    port, provider_port = devserver.free_ports()
    data_dir = base / "data"
    demo.seed(load_settings(data_dir=data_dir), employees=30, days=10, seed=seed)
    secrets_file = base / "secrets.toml"
    secrets_file.write_text(devserver.secrets_toml(port, provider_port))
    env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir)}
    env.pop("PORTAL_DATABASE_URL", None)
    provider = devserver.start_provider(provider_port, base / "provider.log")
    try:
        portal = devserver.start_portal(port, base / "portal.log", env=env, secrets_file=secrets_file)
    except BaseException:
        devserver.stop(provider)
        raise
    try:
        yield f"http://localhost:{port}"
    finally:
        devserver.stop(portal, provider)


@pytest.fixture(scope="session")
def portal_base(tmp_path_factory):
    """Where the shared portal keeps its data (``data/``), secrets and logs."""
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def portal_url(portal_base):
    with running_portal(portal_base, seed=11) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
