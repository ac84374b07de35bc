"""Alice, in Chromium: who read her data, where it went, and downloading her copy."""

import json
import zipfile

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in


def open_page(page, portal_url, title):
    sign_in(page, portal_url, "alice")
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Records per day").first).to_be_visible()  # the first page has finished its run
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def test_alice_sees_who_read_her_data_with_flagged_reads_explained(page, portal_url):
    open_page(page, portal_url, "Who accessed my data")
    expect(page.get_by_text("In the last 90 days,")).to_be_visible()
    expect(page.get_by_text("When your data was read")).to_be_visible()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    page.wait_for_timeout(1500)  # let the chart and the table draw before the screenshot
    shot(page, "alice-who-accessed")
    page.get_by_text("How reads are flagged").click()
    expect(page.get_by_text("Over-exposure episode")).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "alice-who-accessed-table")


def test_alice_sees_where_her_data_went_as_a_picture(page, portal_url):
    open_page(page, portal_url, "Where my data went")
    expect(page.get_by_text("Your data is in")).to_be_visible()
    expect(page.locator(".js-plotly-plot .sankey").first).to_be_visible()
    expect(page.get_by_text("Training datasets that include you")).to_be_visible()
    expect(page.get_by_text("Models trained on them")).to_be_visible()
    page.wait_for_timeout(1500)
    shot(page, "alice-where-data-went")


def test_alice_downloads_a_complete_copy_of_her_data(page, portal_url, tmp_path):
    open_page(page, portal_url, "My copy")
    page.get_by_role("button", name="Prepare my copy").click()
    expect(page.get_by_text("Your copy is ready:")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name="Download my copy (ZIP)")).to_be_visible()
    shot(page, "alice-my-copy")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my copy (ZIP)").click()
    assert download.value.suggested_filename.startswith("my-data-copy-")
    path = tmp_path / "copy.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["copy_of"] == "Alice Lindqvist"
        assert "README.txt" in archive.namelist() and "access_events.csv" in archive.namelist()
        rows = archive.read("telemetry/chat_messages.csv").decode().splitlines()[1:]
        assert rows and all(r.startswith("E00001,") for r in rows)
