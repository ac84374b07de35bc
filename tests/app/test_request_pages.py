"""My requests, Request queue and Subject lookup through Streamlit's AppTest, for every role."""

from __future__ import annotations

import json

import pytest

from portal.demo import seed as demo
from portal.privacy import privacy_requests, receipts
from portal.privacy.request_states import Status
from portal.core.settings import load_settings
from tests.app.conftest import open_page, signed_in, texts, who

MINE, QUEUE, LOOKUP = "app_pages/my_requests.py", "app_pages/request_queue.py", "app_pages/subject_lookup.py"


@pytest.fixture(scope="module")
def app_data_dir(tmp_path_factory):
    """This module's own company: its tests erase data, which the other page tests must not see."""
    data_dir = tmp_path_factory.mktemp("request-pages")
    demo.seed(load_settings(data_dir=data_dir), employees=30, days=10, seed=7)
    return data_dir


def downloads(at) -> list:
    return at.get("download_button")


# ---- My requests -------------------------------------------------------------------------------


def test_bob_sees_the_empty_state_and_the_consequences_of_erasure_before_filing(app):
    at = open_page(app, "bob", MINE)
    assert at.title[0].value == "My requests"
    shown = texts(at)
    assert "You have made no requests yet" in shown
    assert "It cannot be undone" in shown and "Performance records are kept" in shown
    assert "A legal hold keeps what it covers" in shown
    assert not at.dataframe


def test_alice_files_an_erasure_request_and_withdraws_an_objection(app, services):
    at = open_page(app, "alice", MINE)
    at.radio(key="req-erase-scope").set_value("chosen").run()
    at.multiselect(key="req-erase-categories").set_value(["Keystroke activity"]).run()
    at.button(key="req-send").click().run()
    assert not at.exception and "was received" in at.success[0].value

    at.radio(key="req-kind").set_value("objection").run()
    assert "left out of every new dataset" in texts(at)
    at.selectbox(key="req-purpose").set_value("Training AI systems").run()
    at.button(key="req-send").click().run()
    assert not at.exception and "was received" in at.success[0].value

    mine = privacy_requests.my_requests(services.engine, who(services, "alice"))
    objection = next(r for r in mine if r.kind == "objection")
    erasure_request = next(r for r in mine if r.kind == "erasure")
    assert erasure_request.categories == ("user.behavior.keystrokes",)
    assert "Training AI systems" in texts(at) and "received, waiting for the privacy office" in texts(at)
    at.button(key=f"withdraw-{objection.request_id}").click().run()
    assert not at.exception
    alice = who(services, "alice")
    assert privacy_requests.get(services.engine, alice, objection.request_id).status == Status.WITHDRAWN
    assert "withdrawn by you" in texts(at)


def test_an_erasure_of_chosen_categories_needs_at_least_one(app, services):
    at = open_page(app, "bob", MINE)
    at.radio(key="req-erase-scope").set_value("chosen").run()
    at.button(key="req-send").click().run()
    assert "Choose at least one category" in at.error[0].value
    assert privacy_requests.my_requests(services.engine, who(services, "bob")) == []


# ---- Request queue --------------------------------------------------------------------------------


def test_priya_sees_the_queue_the_plan_approves_runs_and_alice_gets_a_receipt(app, services):
    alice, priya = who(services, "alice"), who(services, "priya")
    request = privacy_requests.file_request(services.engine, alice, "E00001", "erasure",
                                            categories=["user.behavior.mouse_movement"])
    at = open_page(app, "priya", QUEUE)
    assert at.title[0].value == "Request queue"
    queue = at.dataframe[0].value
    assert request.request_id in set(queue["Request"]) and "Due" in queue.columns
    at.selectbox(key="queue-open").set_value(request.request_id).run()
    shown = texts(at)
    assert "Alice Lindqvist (E00001)" in shown and "nothing has changed yet" in shown
    plan = at.dataframe[1].value
    assert list(plan["Table"])[:1] == ["mouse_activity"] and int(plan["Rows"].iloc[0]) > 0
    assert "keystroke-dynamics" in set(at.dataframe[2].value["Dataset"])

    at.text_input(key=f"queue-reason-{request.request_id}").set_value("the archive must be searched too").run()
    at.button(key=f"queue-extend-{request.request_id}").click().run()
    assert not at.exception
    at.button(key=f"queue-approve-{request.request_id}").click().run()
    assert not at.exception
    assert privacy_requests.get(services.engine, priya, request.request_id).status == Status.APPROVED
    at.button(key=f"queue-run-{request.request_id}").click().run()
    assert not at.exception, at.exception
    assert privacy_requests.get(services.engine, priya, request.request_id).status == Status.COMPLETED
    assert "Completed and verified in every store" in texts(at)
    assert downloads(at)

    mine = open_page(app, "alice", MINE)
    shown = texts(mine)
    assert "done and verified" in shown
    assert "records removed from mouse_activity" in shown and "Verification: passed." in shown
    assert "extended the deadline" in shown and "the archive must be searched too" in shown
    assert downloads(mine)
    receipt = receipts.for_request(services.engine, alice, request.request_id)
    assert json.loads(receipt.text)["stores"]["telemetry"]["mouse_activity"]["rows_after"] == 0


def test_a_rejection_without_a_reason_changes_nothing_and_says_why(app, services):
    request = privacy_requests.file_request(services.engine, who(services, "bob"), "E00002", "access")
    at = open_page(app, "priya", QUEUE)
    at.selectbox(key="queue-open").set_value(request.request_id).run()
    at.button(key=f"queue-reject-{request.request_id}").click().run()
    assert not at.exception and "Nothing was changed" in at.error[0].value and "needs a reason" in at.error[0].value
    assert privacy_requests.get(services.engine, who(services, "priya"), request.request_id).status == Status.SUBMITTED


@pytest.mark.parametrize("sub", ["alice", "wanda"])
@pytest.mark.parametrize("page", [QUEUE, LOOKUP])
def test_employees_and_the_works_council_opening_the_queue_or_lookup_directly_are_refused(app, sub, page):
    at = app(signed_in(sub), script=page)
    at.run()
    assert not at.exception
    assert "You do not have access to this page" in at.error[0].value
    assert not at.dataframe and not at.text_input and not at.metric


@pytest.mark.parametrize("sub", ["alice", "wanda"])
@pytest.mark.parametrize("page", [QUEUE, LOOKUP])
def test_the_queue_and_lookup_are_not_in_the_navigation_of_employees_or_the_works_council(app, sub, page):
    at = app(signed_in(sub))
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


# ---- Subject lookup -------------------------------------------------------------------------------------


def test_priya_sees_nothing_without_a_justification_and_alice_sees_the_lookup_she_made(app, services):
    at = open_page(app, "priya", LOOKUP)
    at.text_input(key="lookup-subject").set_value("bob@example.com")
    at.selectbox(key="lookup-category").set_value("Chat messages")
    at.button[0].click().run()
    assert not at.exception and "a justification is required" in at.error[0].value and not at.dataframe

    at.text_input(key="lookup-justification").set_value("ticket PRIV-2207: chat export dispute")
    at.button[0].click().run()
    assert not at.exception and at.dataframe and "Bob Okafor (E00002)" in texts(at)

    seen = open_page(app, "bob", "app_pages/who_accessed.py")
    rows = seen.dataframe[0].value
    mine = rows[rows["Justification"] == "ticket PRIV-2207: chat export dispute"]
    assert len(mine) == 1
    assert (mine["Who"].iloc[0], mine["Category"].iloc[0]) == ("Priya Raman", "Chat messages")
