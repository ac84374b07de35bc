"""The Collectors page and the register on My data through AppTest: the works council decides with a reason,
the privacy office registers, employees read who collects what, and text from people stays text."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal import bootstrap
from portal.collection import register
from portal.core import db
from portal.core.settings import load_settings
from portal.demo import seed as demo
from tests.app.conftest import open_page, signed_in, texts, who
from tests.app.test_text_from_people_and_feeds import HOSTILE, assert_shown_as_text

PAGE, MY_DATA = "app_pages/collectors.py", "app_pages/my_data.py"
BOLD = "**bold** <b>x</b>"
UNESCAPED_BOLD = re.compile(r"(?<!\\)\*\*bold|(?<!\\)<b>")
KEYSTROKES, CHATS = "user.behavior.keystrokes", "user.content.private.chat"


@pytest.fixture(scope="module")
def app_data_dir(tmp_path_factory):
    """This module's own company, with a pending collector, an approved one and one the council refused."""
    data_dir = tmp_path_factory.mktemp("collectors-page")
    settings = load_settings(data_dir=data_dir)
    demo.seed(settings, employees=30, days=10, seed=7)
    services = bootstrap.build(settings)
    priya, wanda = who(services, "priya"), who(services, "wanda")
    for name, category, purpose, agreement in (("endpoint-agent", KEYSTROKES, "essential.service.security", None),
                                               ("mouse-agent", "user.behavior.mouse_movement", "train_ai_system",
                                                "WA-2026-03"),
                                               ("chat-archiver", CHATS, "legal.compliance", BOLD)):
        services.register_collector(priya, name=name, category_key=category, purposes=[purpose],
                                    legal_basis=f"{BOLD} as the office wrote it", retention_days=30,
                                    agreement=agreement, description=f"{BOLD}\n{HOSTILE}")
    services.decide_collector(wanda, "mouse-agent", "approve", "agreed in WA-2026-03")
    services.decide_collector(wanda, "chat-archiver", "suspend", f"{BOLD} {HOSTILE}")
    services.engine.dispose()
    return data_dir


def no_markup_made(at) -> None:
    """The hostile text is shown escaped everywhere Streamlit reads Markdown, and is on the page."""
    assert_shown_as_text(at, expect=None)
    bodies = [str(e.value) for kind in ("markdown", "caption", "info", "warning", "error", "success")
              for e in at.get(kind)]
    for text in bodies:
        assert not UNESCAPED_BOLD.search(text), text


def logged(services, name: str) -> list[str]:
    d, e = db.collector_decisions.c, db.log_entries.c
    with services.engine.connect() as conn:
        return list(conn.execute(sa.select(d.event).join(db.log_entries, sa.and_(
            e.source == "collector", e.source_seq == d.seq)).where(d.collector_name == name).order_by(d.seq))
            .scalars())


def test_the_works_council_approves_a_pending_collector_with_a_reason(app, services):
    at = open_page(app, "wanda", PAGE)
    assert at.title[0].value == "Collectors"
    assert not at.get("expander")  # no register form: the privacy office registers
    at.selectbox(key="col-open").set_value("endpoint-agent").run()
    assert "is awaiting the works council's decision" in texts(at)
    at.text_area(key="col-reason-endpoint-agent").set_value("agreed in the council meeting of 7 December")
    at.button(key="col-approve-endpoint-agent").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value == "endpoint-agent was approved."
    table = at.dataframe[0].value
    assert table.set_index("Collector").loc["endpoint-agent", "Status"] == "approved"
    history = at.dataframe[1].value
    assert list(history["What"]) == ["registered", "approved"]
    assert history["Reason"].iloc[-1] == "agreed in the council meeting of 7 December"
    assert logged(services, "endpoint-agent") == ["registered", "approved"]  # signed at once


def test_a_decision_without_a_reason_changes_nothing_and_says_why(app, services):
    at = open_page(app, "wanda", PAGE)
    at.selectbox(key="col-open").set_value("mouse-agent").run()
    at.button(key="col-suspend-mouse-agent").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Nothing was changed: a reason is required: employees read it")
    assert register.listed(services.engine, who(services, "wanda"), "user.behavior.mouse_movement")[0].status == \
        "approved"


def test_a_refused_collector_can_be_resumed_only_and_its_reason_is_shown_as_text(app):
    at = open_page(app, "wanda", PAGE)
    at.selectbox(key="col-open").set_value("chat-archiver").run()
    assert "refused by the works council on" in texts(at)
    assert [b.label for b in at.button if b.key and b.key.endswith("chat-archiver")] == ["Resume"]
    descriptions = [e.value for e in at.get("text")]
    assert any(BOLD in t and "\n" in t for t in descriptions)  # as written, line break kept
    no_markup_made(at)


def test_the_privacy_office_registers_a_collector_and_sees_no_decision_buttons(app, services):
    at = open_page(app, "priya", PAGE)
    assert not [b for b in at.button if b.key and b.key.startswith("col-approve")]
    at.selectbox(key="col-category").set_value("Meeting transcription").run()
    at.text_input(key="col-name").set_value("meet-transcriber")
    at.multiselect(key="col-purposes-user.content.private.meeting_transcript").set_value(
        ["essential.service.collaboration"])
    at.text_input(key="col-agreement").set_value("WA-2026-07")
    at.button(key="col-register-submit").click().run()
    assert not at.exception, at.exception
    assert at.success[0].value.startswith("meet-transcriber is on the register")
    found = {c.name: c for c in services.collector_register(who(services, "priya"))}["meet-transcriber"]
    assert (found.status, found.retention_days, found.agreement) == ("pending", 365, "WA-2026-07")
    assert logged(services, "meet-transcriber") == ["registered"]


def test_a_registration_with_a_hostile_name_is_refused_and_the_name_shown_as_text(app, services):
    at = open_page(app, "priya", PAGE)
    at.text_input(key="col-name").set_value(BOLD)
    at.multiselect(key="col-purposes-user.behavior.keystrokes").set_value(["train_ai_system"])
    at.button(key="col-register-submit").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("Nothing was registered: collector name")
    assert "may hold only letters, digits" in at.error[0].value
    no_markup_made(at)
    assert BOLD not in {c.name for c in services.collector_register(who(services, "priya"))}


def test_the_collectors_page_says_when_retention_last_ran(app):
    at = open_page(app, "priya", PAGE)
    said = [e.value for e in at.info]
    assert any(s.startswith(("Retention has never run: run `portal retention run`.", "Retention last ran on "))
               for s in said)


def test_an_employee_reads_on_my_data_who_collects_each_category(app):
    at = open_page(app, "alice", MY_DATA)
    shown = texts(at)
    assert "Which systems collect it" in shown
    assert "approved by the works council since" in shown and "WA-2026-03" in shown
    assert "refused by the works council on" in shown
    assert "hris-performance" in shown and "WA-2023-11" in shown  # the demo register: every category has one
    no_markup_made(at)
    assert any("\\*\\*bold\\*\\* \\<b\\>x\\</b\\>" in str(e.value) for e in at.markdown)


def test_an_employee_opening_the_collectors_page_directly_is_refused(app):
    at = app(signed_in("alice"), script=PAGE)
    at.run()
    assert not at.exception
    assert "do not have access" in at.error[0].value
    assert not at.dataframe
