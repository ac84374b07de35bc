"""In Chromium: a read without a registered purpose reaches the person by e-mail and on the Notifications page
within one `portal notify run`; a browser that asks for German gets the portal in German."""

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect

from tests.e2e.conftest import running_portal, shot
from tests.e2e.test_login import sign_in
from tests.integration.notify.conftest import Inbox

from portal.demo import devserver


@pytest.fixture(scope="module")
def own_portal(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e-notify")
    with running_portal(base, seed=13) as url:
        yield base, url


def test_a_read_without_a_purpose_is_emailed_and_listed_after_one_notify_run(browser, own_portal):
    base, url = own_portal
    event = {"event_id": "e2e-no-purpose", "time": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
             "subject": "E00001", "category": "user.content.private.chat", "action": "view", "purpose": None,
             "justification": None, "source_system": "notebook", "record_count": 3,
             "actor": {"id": "person:mallory", "kind": "person", "name": "Mallory Marsh", "team": "Data",
                       "role": "Data Scientist"}}
    (base / "read.jsonl").write_text(json.dumps(event) + "\n")
    inbox = Inbox()
    port = devserver.free_ports(1)[0]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    env = {**os.environ, "PORTAL_DATA_DIR": str(base / "data"), "PORTAL_SMTP_URL": f"smtp://127.0.0.1:{port}",
           "PORTAL_PUBLIC_URL": url}
    env.pop("PORTAL_DATABASE_URL", None)
    try:
        for command in (["ingest", "access", str(base / "read.jsonl")], ["notify", "run"]):
            done = subprocess.run([sys.executable, "-m", "portal.cli", *command], env=env, capture_output=True,
                                  text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
    finally:
        controller.stop()
    [mail] = [m for m in inbox.messages if "no registered purpose" in m.get_content() and m["To"] == "alice@example.com"]
    assert "Mallory Marsh read your Chat messages, 3 records" in mail.get_content()
    assert f"{url}/who_accessed" in mail.get_content()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        sign_in(page, url, "alice")
        expect(page.get_by_role("heading", name="My data")).to_be_visible()
        page.get_by_role("link", name=re.compile(r"^Notifications \(\d+ unread\)")).click()
        expect(page.get_by_role("heading", name="Notifications")).to_be_visible()
        expect(page.get_by_text("Mallory Marsh read your Chat messages, 3 records").first).to_be_visible()
        page.wait_for_timeout(500)
        shot(page, "alice-notifications")
    finally:
        context.close()


def test_a_browser_that_asks_for_german_sees_the_portal_in_german(browser, own_portal):
    _base, url = own_portal
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="de-DE")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(url)
        expect(page.get_by_role("heading", name="Transparenzportal für Telemetriedaten")).to_be_visible()
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(re.compile(r"localhost:\d+/oauth2/authorize"))
        page.locator("form[aria-labelledby='heading-auth-predefined']").get_by_role("button", name="alice").click()
        page.wait_for_url(re.compile(re.escape(url)))
        expect(page.get_by_role("heading", name="Meine Daten")).to_be_visible()
        expect(page.get_by_role("link", name="Wer hat auf meine Daten zugegriffen")).to_be_visible()
        expect(page.get_by_text("Gespeicherte Kategorien")).to_be_visible()
        page.wait_for_timeout(1000)
        shot(page, "alice-my-data-german")
    finally:
        context.close()
