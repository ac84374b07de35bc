"""Text from people and feeds is text: hostile strings reach every page and nothing is made of them.

Request details and reasons, actor names, teams and roles, grant groups, an employee's
name, dataset names and the claims of an unknown account carry a Markdown image (a
tracking pixel), a link, a heading, an HTML tag and an unterminated right-to-left
override. Every element that reads Markdown must show them escaped, and no bidi control
may reach a page.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal import bootstrap
from portal.core import db
from portal.demo import seed as demo
from portal.council import grants
from portal.lineage import openlineage as lineage
from portal.privacy import privacy_requests
from portal.audit.access_events import ingest_access
from portal.identity.principal import ClaimRules, principal_from_claims
from portal.lineage.openlineage import Manifest
from portal.demo.personas import PERSONA_BY_SUB
from portal.core.plain_text import BIDI_CONTROLS
from portal.privacy.request_states import Status
from portal.core.settings import load_settings
from tests.app.conftest import signed_in

IMAGE = "![x](http://evil.example/p.png)"
LINK = "[click](http://evil.example)"
HEADING = "# APPROVED BY LEGAL"
HTML = "<img src=x onerror=alert(1)>"
RLO = "\u202e"
HOSTILE = f"{HEADING} {IMAGE} {LINK} {HTML} {RLO}tail"
# Actor teams and roles are at most 100 characters: the payloads are split over two of each.
HOSTILE_A = f"{HEADING} {IMAGE} {RLO}a"
HOSTILE_B = f"{LINK} {HTML} {RLO}b"
DETAILS = f"Please erase my chats.\n{HEADING}\n{IMAGE}\n{LINK}\n{HTML}\n{RLO}the rest of my request"

HOSTILE_ID, HOSTILE_SUB = "E09998", "hostile-person"
CHATS = "user.content.private.chat"
EVENT_TIME = "2026-11-25T10:00:00Z"

# Elements whose body (or label) Streamlit renders as Markdown.
BODIES = ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error", "success", "toast")
LABELLED = ("metric", "expander", "button", "download_button", "selectbox", "multiselect", "text_input",
            "text_area", "toggle", "radio", "number_input", "date_input", "file_uploader", "tab")
UNESCAPED = {
    "an image": re.compile(r"(?<!\\)!(?<!\\)\["),
    "a link": re.compile(r"(?<!\\)\]\("),
    "a heading": re.compile(r"(?<!\\)#\s*APPROVED BY LEGAL", re.IGNORECASE),
    "an HTML tag": re.compile(r"(?<!\\)<img", re.IGNORECASE),
    "a bare address that becomes a link": re.compile(r"http://evil", re.IGNORECASE),
}


@pytest.fixture(scope="module")
def app_data_dir(tmp_path_factory):
    """A small company, plus a person whose name, requests, readers, grants and datasets are hostile."""
    data_dir = tmp_path_factory.mktemp("hostile-text")
    settings = load_settings(data_dir=data_dir)
    demo.seed(settings, employees=30, days=10, seed=7)
    services = bootstrap.build(settings)
    engine = services.engine
    with engine.begin() as conn:
        conn.execute(sa.insert(db.employees).values(
            employee_id=HOSTILE_ID, oidc_sub=HOSTILE_SUB, email="hostile@example.com", display_name=HOSTILE,
            department="Engineering", team="Payments Platform", job_title="Engineer", hired_on=date(2026, 1, 5)))

    def who(claims):
        return principal_from_claims(claims, services.directory, ClaimRules.from_settings(services.settings))

    person, priya = who({"sub": HOSTILE_SUB}), who(PERSONA_BY_SUB["priya"].claims())
    erasure = privacy_requests.file_request(engine, person, HOSTILE_ID, "erasure", categories=[CHATS],
                                            details=DETAILS)
    privacy_requests.extend(engine, priya, erasure.request_id, 2, HOSTILE)
    objection = privacy_requests.file_request(engine, person, HOSTILE_ID, "objection", purpose="train_ai_system")
    privacy_requests.transition(engine, priya, objection.request_id, Status.REJECTED, HOSTILE)

    ingest_access(engine, [json.dumps({
        "event_id": f"hostile-{n}", "time": EVENT_TIME, "subject": HOSTILE_ID, "category": CHATS,
        "action": "view", "purpose": None, "justification": HOSTILE, "source_system": HOSTILE, "record_count": 3,
        "actor": {"id": f"person:hostile-{n}", "kind": "person", "name": HOSTILE, "team": team, "role": role},
    }) for n, (team, role) in enumerate([(HOSTILE_A, HOSTILE_A), (HOSTILE_B, HOSTILE_B)])])
    grants.ingest_grants(engine, [json.dumps({
        "principal": "grp-hostile", "kind": "group", "group": HOSTILE, "member_count": 40, "category": CHATS,
        "granted_by": HOSTILE, "granted_at": "2026-11-20T08:00:00Z"})])
    members = data_dir / "members.csv"
    members.write_text(f"subject,record_count\n{HOSTILE_ID},12\n")
    output = {"namespace": "s3://training", "name": HOSTILE, "facets": {
        "version": {"datasetVersion": "v1"}, "telemetryPortal": {"purpose": "train_ai_system"}}}
    lineage.ingest_lineage(engine, [json.dumps({
        "eventType": "COMPLETE", "eventTime": EVENT_TIME, "run": {"runId": "00000000-0000-0000-0000-00000000beef"},
        "job": {"namespace": "ml-platform", "name": "build-hostile"},
        "inputs": [{"namespace": "delta://lake", "name": "lake/chat_messages"}], "outputs": [output]})],
        [Manifest(HOSTILE, "v1", members)])
    engine.dispose()
    return data_dir


def rendered(at) -> list[tuple[str, str]]:
    """(element, text) of everything on the page that Streamlit reads as Markdown, sidebar included."""
    found = [(kind, str(e.value)) for kind in BODIES for e in at.get(kind)]
    return found + [(kind, str(e.label)) for kind in LABELLED for e in at.get(kind) if hasattr(e, "label")]


def chart_strings(at) -> list[str]:
    """Every string in the page's plotly figures (labels and hover boxes read a subset of HTML)."""
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, str):
            out.append(node)
        elif isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for chart in at.get("plotly_chart"):
        walk(json.loads(chart.proto.spec))
    return out


def assert_shown_as_text(at, *, expect: str | None = "APPROVED BY LEGAL") -> None:
    """The hostile text is on the page (``expect``), and only ever escaped; no bidi control anywhere."""
    assert not at.exception, at.exception
    bodies = rendered(at)
    if expect is not None:
        assert any(expect.lower() in text.lower() for _, text in bodies), "the hostile text should be shown"
    for kind, text in bodies:
        for what, pattern in UNESCAPED.items():
            assert not pattern.search(text), f"{kind} makes {what} from: {text!r}"
        assert not set(text) & set(BIDI_CONTROLS), f"{kind} keeps a bidi control: {text!r}"
    for text in [str(e.value) for e in at.get("text")]:  # plain text: shown as it is, bidi controls aside
        assert not set(text) & set(BIDI_CONTROLS), f"a bidi control reaches the page: {text!r}"
    for text in chart_strings(at):
        assert not set(text) & set(BIDI_CONTROLS), f"a bidi control reaches a chart: {text!r}"
        assert "<img" not in text, f"a chart reads an HTML tag: {text!r}"


def open_page(app, claims, page=None):
    at = app(claims)
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def the_hostile_person():
    return signed_in(HOSTILE_SUB, email="hostile@example.com", groups=[HOSTILE])


def test_a_hostile_name_and_group_render_as_text_in_the_sidebar_and_on_my_data(app):
    at = open_page(app, the_hostile_person())  # AppTest keeps the sidebar of the first run only
    sidebar = [e.value for e in at.sidebar.markdown] + [e.value for e in at.sidebar.caption]
    assert sum("APPROVED BY LEGAL" in text for text in sidebar) == 2  # the name, and the group without a role
    assert any("APPROVED BY LEGAL" in e.value for e in at.main.caption)  # "Everything ... hold about <name>"
    assert_shown_as_text(at)


def test_rejection_and_extension_reasons_with_markdown_render_as_text_on_my_requests(app):
    at = open_page(app, the_hostile_person(), "app_pages/my_requests.py")
    assert any("extended the deadline" in e.value for e in at.info)
    assert any("The privacy office's reason" in e.value for e in at.warning)
    assert_shown_as_text(at)


@pytest.mark.parametrize("page", ["app_pages/who_accessed.py", "app_pages/where_my_data_went.py"])
def test_hostile_readers_and_dataset_names_reach_the_charts_and_tables_as_text(app, page):
    at = open_page(app, the_hostile_person(), page)
    assert any("APPROVED BY LEGAL" in s for s in chart_strings(at))
    assert_shown_as_text(at, expect=None)  # these pages name readers and datasets only in tables and charts
    if page == "app_pages/who_accessed.py":
        reads = at.dataframe[0].value
        sentences = [*reads["Who"], *reads["Flagged because"]]
        assert any("is not one the policy allows" in s for s in sentences)
        assert not any(set(s) & set(BIDI_CONTROLS) for s in sentences)


def test_request_details_with_markdown_render_as_text_on_the_request_queue(app):
    at = open_page(app, signed_in("priya"), "app_pages/request_queue.py")
    erasure = next(o for o in at.selectbox(key="queue-open").options if HOSTILE_ID in o).split(" · ")[0]
    at.selectbox(key="queue-open").set_value(erasure).run()
    assert any("The employee wrote" in e.value for e in at.markdown)
    assert any("extended the deadline" in e.value for e in at.info)
    assert_shown_as_text(at)
    details = [e.value for e in at.get("text")]  # their words as written, line breaks kept, nothing interpreted
    assert any("![x](http://evil.example/p.png)" in t and "\n# APPROVED BY LEGAL\n" in t for t in details)


def test_a_hostile_justification_and_name_render_as_text_on_the_subject_lookup(app):
    at = open_page(app, signed_in("priya"), "app_pages/subject_lookup.py")
    at.text_input(key="lookup-subject").set_value(HOSTILE_ID)
    at.text_input(key="lookup-justification").set_value(f"ticket PRIV-9 {HOSTILE}")
    at.button[0].click().run()
    assert at.subheader and "APPROVED BY LEGAL" in at.subheader[-1].value
    assert_shown_as_text(at)

    at.text_input(key="lookup-subject").set_value(HOSTILE)
    at.button[0].click().run()
    assert at.error and "Nothing was opened" in at.error[0].value
    assert_shown_as_text(at)


@pytest.mark.parametrize("sub", ["wanda", "priya"])
def test_ingested_roles_and_grant_groups_render_as_text_on_the_exposure_page(app, sub):
    at = open_page(app, signed_in(sub), "app_pages/exposure.py")
    breach = next(e.value for e in at.error if "Chat messages" in e.value)
    assert "in the role" in breach and "A grant gave group" in breach
    assert_shown_as_text(at)


def test_the_claims_of_an_account_without_a_record_render_as_text(app):
    at = open_page(app, signed_in(HOSTILE, email=f"{LINK}{RLO}@example.com", groups=[HOSTILE]))
    assert at.title[0].value == "We have no record of you"
    assert_shown_as_text(at)
