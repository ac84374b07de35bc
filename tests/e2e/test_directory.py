"""A company's people come in through its directory export and sign in as themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from playwright.sync_api import expect

from portal.identity.directory_ingest import ENTERPRISE_SCHEMA, LIST_RESPONSE, USER_SCHEMA
from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in


def test_a_new_hire_from_a_scim_export_signs_in_and_sees_their_own_portal_under_their_directory_name(
        page, portal_url, portal_base, tmp_path):
    export = {"schemas": [LIST_RESPONSE], "totalResults": 1, "Resources": [{
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "id": "8c2f1a", "externalId": "00u-nadia-haddad",
        "userName": "nadia.haddad@example.com", "displayName": "Nadia Haddad",
        "emails": [{"value": "nadia.haddad@example.com", "type": "work", "primary": True}],
        "title": "Research Scientist", "active": True,
        ENTERPRISE_SCHEMA: {"employeeNumber": "N90001", "department": "Research"}}]}
    path = tmp_path / "new-hires.scim.json"
    path.write_text(json.dumps(export))
    env = {**os.environ, "PORTAL_DATA_DIR": str(portal_base / "data")}
    env.pop("PORTAL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "portal.cli", "ingest", "employees", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout

    sign_in(page, portal_url, "00u-nadia-haddad", predefined=False)
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_test_id("stSidebar").get_by_text("Nadia Haddad", exact=True)).to_be_visible()
    expect(page.get_by_text("No telemetry is held about you")).to_be_visible()
    shot(page, "new-hire-from-scim")


def test_a_malformed_export_is_refused_naming_the_record_and_the_portal_stays_as_it_was(portal_base, tmp_path):
    path = tmp_path / "broken.scim.json"
    path.write_text(json.dumps({"schemas": [LIST_RESPONSE], "Resources": [
        {"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "userName": "x@example.com", "displayName": "X",
         "emails": [{"value": "x@example.com"}], ENTERPRISE_SCHEMA: {"department": "Sales"}}]}))
    env = {**os.environ, "PORTAL_DATA_DIR": str(portal_base / "data")}
    env.pop("PORTAL_DATABASE_URL", None)
    done = subprocess.run([sys.executable, "-m", "portal.cli", "ingest", "employees", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2
    assert "record 1: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber: is missing" \
        in done.stderr
    assert "Traceback" not in done.stderr
