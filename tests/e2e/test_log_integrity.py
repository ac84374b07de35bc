"""The works council stores a checkpoint and later checks that the log only grew."""

from playwright.sync_api import expect

from tests.e2e.conftest import shot
from tests.e2e.test_login import sign_in


def open_integrity_page(page, portal_url):
    sign_in(page, portal_url, "wanda")
    page.get_by_role("link", name="Access log integrity").click()
    expect(page.get_by_role("heading", name="Access log integrity")).to_be_visible()


def test_wanda_downloads_a_checkpoint_and_the_log_proves_it_extends_it(page, portal_url, tmp_path):
    open_integrity_page(page, portal_url)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download this checkpoint").click()
    stored = tmp_path / "stored-checkpoint.txt"
    download.value.save_as(stored)
    assert "\u2014 " in stored.read_text()
    page.locator("input[type='file']").set_input_files(str(stored))
    expect(page.get_by_text("Consistent.")).to_be_visible()
    shot(page, "wanda-log-integrity")


def test_a_forged_checkpoint_is_refused_as_not_a_checkpoint_of_this_log(page, portal_url, tmp_path):
    open_integrity_page(page, portal_url)
    forged = tmp_path / "forged.txt"
    forged.write_text("telemetry-portal.example/access-log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n"
                      "\u2014 telemetry-portal.example AAAAAAAA\n")
    page.locator("input[type='file']").set_input_files(str(forged))
    expect(page.get_by_text("That file is not a checkpoint of this log")).to_be_visible()
    expect(page.get_by_text("Consistent.")).not_to_be_visible()
    shot(page, "wanda-log-integrity-forged")
