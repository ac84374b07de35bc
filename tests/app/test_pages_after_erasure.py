"""My copy and Who accessed my data after the person's data was erased, through Streamlit's AppTest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from portal.audit import access_events
from portal.demo import seed as demo
from portal.privacy import erasure, privacy_requests
from portal.core.settings import load_settings
from tests.app.conftest import open_page, texts, who

WHO, COPY = "app_pages/who_accessed.py", "app_pages/my_copy.py"


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("after-erasure")
    demo.seed(load_settings(data_dir=data_dir), employees=12, days=5, seed=3)
    return data_dir


@pytest.fixture
def app_data_dir(template, tmp_path):
    """A company of this test's own: its erasures must not reach the other page tests."""
    data_dir = tmp_path / "data"
    shutil.copytree(template, data_dir)
    return data_dir


def erase_everything_of_alice(services) -> str:
    request = privacy_requests.file_request(services.engine, who(services, "alice"), "E00001", "erasure")
    privacy_requests.approve(services.engine, who(services, "priya"), request.request_id, "identity confirmed")
    erasure.execute(services.engine, services.store, who(services, "priya"), request.request_id)
    return request.request_id


def test_an_open_my_copy_page_says_an_erasure_removed_the_copy_instead_of_offering_a_failing_download(
        app, services):
    at = open_page(app, "alice", COPY)
    at.button(key="copy-prepare").click().run()
    assert at.get("download_button") and "Your copy is ready" in texts(at)

    request_id = erase_everything_of_alice(services)
    at.run()  # what the page's periodic check (or any click) does while it stays open
    assert not at.exception, at.exception
    shown = texts(at)
    assert not at.get("download_button") and "Your copy is ready" not in shown
    assert "removed from the server because your data was erased" in shown and request_id in shown
    assert "Performance records" in shown and "Prepare a new copy" in shown  # what is still kept can be copied

    at.button(key="copy-prepare").click().run()
    assert not at.exception
    assert at.get("download_button") and "Your copy is ready" in texts(at)
    assert "removed from the server" not in texts(at)


def test_a_copy_gone_for_another_reason_is_not_blamed_on_an_erasure(app, services):
    at = open_page(app, "alice", COPY)
    at.button(key="copy-prepare").click().run()
    Path(at.session_state["copy-ready"][1]).unlink()  # as the hourly clean-up does
    at.run()
    assert not at.exception
    assert not at.get("download_button")
    assert "no longer on the server" in texts(at) and "erased" not in texts(at)


def test_after_erasing_everything_who_accessed_my_data_says_the_record_of_reads_was_unlinked(app, services):
    before = open_page(app, "alice", WHO)
    assert before.dataframe and "unlinked" not in texts(before)

    request_id = erase_everything_of_alice(services)
    at = open_page(app, "alice", WHO)
    shown = texts(at)
    assert "nobody but you read your data" not in shown and "Nobody but you has read" not in shown
    assert at.markdown[0].value.startswith("#### The record of who read your data was unlinked from you by your "
                                           "erasure on ")
    assert request_id in shown and "pseudonym" in shown and "still in the signed log" in shown
    assert not at.dataframe

    access_events.record_read(services.engine, who(services, "priya"), "E00001", "user.workplace.performance",
                           "legal.compliance", "audit of kept records", 2)
    at = open_page(app, "alice", WHO)
    assert at.markdown[0].value.startswith("#### Since your erasure on ")
    assert "1 person read your data (1 read)" in at.markdown[0].value
    assert len(at.dataframe[0].value) == 1 and request_id in texts(at)

