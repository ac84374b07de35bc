"""In Chromium through the real login: Alice asks for her keystroke data to be erased, Priya approves and
carries it out, Alice sees it completed and downloads a receipt that verifies."""

import re

import pytest
from playwright.sync_api import expect

from portal.privacy import receipts
from tests.e2e.conftest import running_portal, shot
from tests.e2e.test_login import sign_in

@pytest.fixture(scope="module")
def portal_url(tmp_path_factory):
    # A portal of its own: this story erases data other browser tests read.
    with running_portal(tmp_path_factory.mktemp("e2e-requests"), seed=11) as url:
        yield url


def settle(page):
    """Wait until Streamlit has finished the run a click started (its status widget is gone)."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=30_000)


def go_to(page, portal_url, sub, title):
    sign_in(page, portal_url, sub)
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    expect(page.get_by_text("Records per day").first).to_be_visible()  # the first page has finished its run
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title)).to_be_visible()


def test_alice_asks_for_erasure_priya_carries_it_out_and_alice_downloads_a_receipt(browser, page, portal_url,
                                                                                   tmp_path):
    # Alice files the request.
    go_to(page, portal_url, "alice", "My requests")
    expect(page.get_by_text("You have made no requests yet")).to_be_visible()
    page.get_by_text("Make a request").click()
    page.get_by_text("Only some categories").click()
    categories = page.get_by_role("combobox", name="Categories to erase")
    expect(categories).to_be_visible()
    settle(page)
    categories.click()
    page.keyboard.type("Keystroke")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    expect(page.get_by_test_id("stMultiSelect")).to_contain_text("Keystroke activity")
    expect(page.get_by_text("It cannot be undone.")).to_be_visible()
    page.wait_for_timeout(500)
    shot(page, "requests-alice-files-erasure")
    page.get_by_role("button", name="Send my request").click()
    received = page.get_by_text(re.compile(r"Your request REQ-[0-9A-F]{8} was received"))
    expect(received).to_be_visible()
    request_id = re.search(r"REQ-[0-9A-F]{8}", received.inner_text()).group(0)

    # Priya sees it in her queue, with what it will touch, approves and carries it out.
    office = browser.new_context(viewport={"width": 1400, "height": 1000})
    priya = office.new_page()
    priya.set_default_timeout(30_000)
    try:
        go_to(priya, portal_url, "priya", "Request queue")
        # The queue opens the request due soonest: one of the demo company's own, received before Alice's.
        priya.get_by_role("combobox", name="Open a request").click()
        priya.keyboard.type(request_id)
        priya.keyboard.press("Enter")
        expect(priya.get_by_text(f"Erasure: Keystroke activity · {request_id}")).to_be_visible()
        expect(priya.get_by_text("What carrying it out will touch (nothing has changed yet)")).to_be_visible()
        expect(priya.get_by_text("Training dataset versions affected")).to_be_visible()
        expect(priya.get_by_role("combobox", name="Open a request")).to_be_visible()
        expect(priya.get_by_role("switch", name="Show closed requests too")).to_be_visible()
        priya.wait_for_timeout(1000)
        shot(priya, "requests-priya-queue-and-plan")
        priya.get_by_role("button", name="Approve").scroll_into_view_if_needed()
        priya.wait_for_timeout(500)
        shot(priya, "requests-priya-plan-and-decision")
        priya.get_by_role("button", name="Approve").click()
        expect(priya.get_by_text("approved, waiting to be carried out").first).to_be_visible()
        priya.get_by_role("button", name="Carry out and verify").click()
        expect(priya.get_by_text("Completed and verified in every store")).to_be_visible(timeout=60_000)
        priya.wait_for_timeout(500)
        shot(priya, "requests-priya-completed")
    finally:
        office.close()

    # Alice sees it completed and downloads the signed receipt.
    page.get_by_role("link", name="My data", exact=True).click()
    expect(page.get_by_role("heading", name="My data")).to_be_visible()
    page.get_by_role("link", name="My requests").click()
    expect(page.get_by_text("done and verified")).to_be_visible()
    page.get_by_text("What happened so far").click()
    page.wait_for_timeout(1000)
    shot(page, "requests-alice-completed")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the signed receipt").click()
    assert download.value.suggested_filename == f"receipt-{request_id}.json"
    path = tmp_path / "receipt.json"
    download.value.save_as(path)
    receipt = receipts.verify(path.read_bytes())
    assert receipt.request_id == request_id
    assert receipt.document["stores"]["telemetry"]["keystrokes"]["rows_after"] == 0
    assert receipt.document["verification"]["result"] == "passed"
