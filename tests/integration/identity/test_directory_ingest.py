"""The company's directory comes in from SCIM 2.0 or CSV: all or nothing, idempotent, dated department changes,
leavers kept with their rights, managers resolved; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from portal.core import db
from portal.core.line_input import IngestRejected
from portal.identity.directory_ingest import (
    BULK_REQUEST,
    ENTERPRISE_SCHEMA,
    LIST_RESPONSE,
    USER_SCHEMA,
    ingest_employees,
)
from tests.integration.privacy.test_privacy_requests import drop_schema, postgres_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        found = db.make_engine(f"sqlite:///{tmp_path / 'portal.db'}")
        db.migrate(found)
        yield found
        found.dispose()
    else:
        url, schema = postgres_schema_url()
        found = db.make_engine(url)
        db.migrate(found)
        yield found
        found.dispose()
        drop_schema(schema)


def user(number: str, name: str, *, scim_id: str | None = None, sub: str | None = None, department: str = "Sales",
         manager: str | None = None, active: bool = True, title: str = "Account Executive", email: str | None = None):
    enterprise = {"employeeNumber": number, "department": department}
    if manager:
        enterprise["manager"] = {"value": manager, "$ref": f"../Users/{manager}"}
    found = {"schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA], "id": scim_id or f"scim-{number}",
             "userName": email or f"{name.split()[0].lower()}@example.com", "displayName": name,
             "emails": [{"value": "old@example.com", "type": "home"},
                        {"value": email or f"{name.split()[0].lower()}@example.com", "type": "work", "primary": True}],
             "title": title, "active": active, ENTERPRISE_SCHEMA: enterprise}
    if sub:
        found["externalId"] = sub
    return found


def listing(*users) -> dict:
    return {"schemas": [LIST_RESPONSE], "totalResults": len(users), "Resources": list(users)}


def write(tmp_path, doc, name="users.json") -> str:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return str(path)


def rows(engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.employee_id: r for r in conn.execute(sa.select(db.employees))}


def history(engine, employee_id) -> list[tuple]:
    h = db.employee_departments.c
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.select(h.department, h.team, h.valid_from, h.valid_to)
                                               .where(h.employee_id == employee_id).order_by(h.id))]


COMPANY = listing(user("E100", "Maria Schulz", sub="00u-maria", department="Sales"),
                  user("E101", "Jonas Berg", sub="00u-jonas", manager="scim-E100"),
                  user("E102", "Lea Wong", sub="00u-lea", manager="E100", department="Legal"))


def test_a_scim_list_response_adds_people_with_subject_name_primary_email_department_and_manager(engine, tmp_path):
    report = ingest_employees(engine, write(tmp_path, COMPANY))
    assert (report.records, report.added, report.updated, report.unchanged) == (3, 3, 0, 0)
    found = rows(engine)
    assert found["E101"].oidc_sub == "00u-jonas" and found["E101"].display_name == "Jonas Berg"
    assert found["E101"].email == "jonas@example.com"  # the primary one, not the first
    assert found["E101"].manager_id == "E100" and found["E102"].manager_id == "E100"  # SCIM id and employee id
    assert found["E102"].department == "Legal" and found["E100"].job_title == "Account Executive"
    assert found["E102"].team == "Legal"  # SCIM has no team: the department stands in
    assert found["E100"].active and found["E100"].directory_id == "scim-E100"
    assert history(engine, "E102") == [("Legal", "Legal", None, None)]


def test_the_same_file_again_changes_nothing(engine, tmp_path):
    path = write(tmp_path, COMPANY)
    ingest_employees(engine, path)
    before = rows(engine)
    again = ingest_employees(engine, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert rows(engine) == before
    assert len(history(engine, "E100")) == 1


def test_a_department_change_is_dated_so_earlier_weeks_keep_the_old_department(engine, tmp_path):
    ingest_employees(engine, write(tmp_path, COMPANY))
    moved = listing(user("E101", "Jonas Berg", sub="00u-jonas", department="Marketing", manager="E102",
                         title="Campaign Lead"))
    report = ingest_employees(engine, write(tmp_path, moved, "moved.json"), effective=date(2026, 11, 16))
    assert (report.updated, report.moved, report.unchanged) == (1, 1, 0)
    found = rows(engine)["E101"]
    assert (found.department, found.manager_id, found.job_title) == ("Marketing", "E102", "Campaign Lead")
    assert history(engine, "E101") == [("Sales", "Sales", None, date(2026, 11, 16)),
                                       ("Marketing", "Marketing", date(2026, 11, 16), None)]
    assert rows(engine)["E100"].department == "Sales"  # absent from the file: left as they are


def test_a_leaver_is_marked_inactive_and_keeps_their_record(engine, tmp_path):
    ingest_employees(engine, write(tmp_path, COMPANY))
    gone = listing(user("E102", "Lea Wong", sub="00u-lea", manager="E100", department="Legal", active=False))
    report = ingest_employees(engine, write(tmp_path, gone, "gone.json"))
    assert report.leavers == 1
    found = rows(engine)["E102"]
    assert not found.active and found.oidc_sub == "00u-lea" and found.email == "lea@example.com"


def test_a_bulk_request_adds_with_post_and_put_and_marks_a_delete_as_a_leaver(engine, tmp_path):
    ingest_employees(engine, write(tmp_path, COMPANY))
    bulk = {"schemas": [BULK_REQUEST], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "q1", "data": user("E200", "Ana Ruiz", sub="00u-ana")},
        {"method": "PUT", "path": "/Users/scim-E100", "data": user("E100", "Maria Schulz-Berg", sub="00u-maria")},
        {"method": "DELETE", "path": "/Users/scim-E101"}]}
    report = ingest_employees(engine, write(tmp_path, bulk, "bulk.json"))
    assert (report.added, report.leavers) == (1, 1)
    found = rows(engine)
    assert found["E200"].oidc_sub == "00u-ana" and found["E100"].display_name == "Maria Schulz-Berg"
    assert not found["E101"].active


def test_json_lines_of_users_are_read_line_by_line(engine, tmp_path):
    lines = "\n".join(json.dumps(u) for u in COMPANY["Resources"])
    report = ingest_employees(engine, write(tmp_path, lines, "users.jsonl"))
    assert report.added == 3


def test_a_csv_with_the_documented_header_is_read(engine, tmp_path):
    text = ("employee_id,subject,email,email_verified,display_name,department,team,job_title,manager_id,active\n"
            "E300,sub-300,Kim@Example.com,true,Kim Park,Finance,Payables,Analyst,,true\n"
            "E301,,ole@example.com,false,Ole Hansen,Finance,Payables,Clerk,E300,\n")
    report = ingest_employees(engine, write(tmp_path, text, "people.csv"))
    assert report.added == 2
    found = rows(engine)
    assert found["E300"].email == "kim@example.com" and found["E300"].team == "Payables"
    assert found["E301"].oidc_sub is None and not found["E301"].email_verified and found["E301"].manager_id == "E300"
    assert found["E301"].active  # empty: the default


@pytest.mark.parametrize(("doc", "name", "expected"), [
    (listing(user("E1", "A One"), {**user("E2", "B Two"), "emails": [{"value": 5}]}), "users.json",
     "record 2: emails.value: must be a string, not a number"),
    (listing(user("E1", "A One"), {**user("E2", "B Two"), ENTERPRISE_SCHEMA: {"department": "Sales"}}),
     "users.json", "record 2: urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber: is missing"),
    (listing(user("E1", "A One"), user("E1", "B Two")), "users.json", "record 2: employee_id: 'E1' is already record 1's"),
    (listing(user("E1", "A One", manager="nobody")), "users.json", "record 1: manager: 'nobody' is no one"),
    (listing(user("E1", "A One", manager="E1")), "users.json", "record 1: manager: a person cannot be their own manager"),
    (listing(user("E1", "A One", email="not an address")), "users.json", "record 1: email: 'not an address' is not an e-mail"),
    (listing({**user("E1", "A One"), "active": "maybe"}), "users.json", "record 1: active:"),
    ({"schemas": ["urn:example:Other"]}, "users.json", "record 1: schemas: must name a ListResponse"),
    ("{not json", "users.json", "is not JSON"),
    ("employee_id,email,display_name\nE1,a@example.com,A\n", "people.csv", "missing department"),
    ("employee_id,email,display_name,department,shoe_size\n", "people.csv", "unknown column(s) 'shoe_size'"),
    ("employee_id,email,display_name,department,active\nE1,a@example.com,A,Sales,perhaps\n", "people.csv",
     "line 2: active: 'perhaps' is not true or false"),
    ("employee_id,email,display_name,department\n", "people.csv", "holds no person"),
])
def test_a_bad_record_is_named_with_its_field_and_nothing_is_written(engine, tmp_path, doc, name, expected):
    ingest_employees(engine, write(tmp_path, COMPANY, "company.json"))
    before = rows(engine)
    with pytest.raises(IngestRejected) as caught:
        ingest_employees(engine, write(tmp_path, doc, name))
    assert expected in str(caught.value)
    assert rows(engine) == before


def test_an_email_or_subject_of_another_employee_is_refused(engine, tmp_path):
    ingest_employees(engine, write(tmp_path, COMPANY))
    clash = listing(user("E400", "Eve Clash", sub="00u-maria"), user("E401", "Ida Clash", email="lea@example.com"))
    with pytest.raises(IngestRejected) as caught:
        ingest_employees(engine, write(tmp_path, clash, "clash.json"))
    text = str(caught.value)
    assert "record 1: subject: '00u-maria' belongs to employee E100" in text
    assert "record 2: email: 'lea@example.com' belongs to employee E102" in text
    assert "E400" not in rows(engine)


def test_a_missing_or_unreadable_file_is_named(engine, tmp_path):
    with pytest.raises(IngestRejected, match="does not exist|No such file|not found"):
        ingest_employees(engine, str(tmp_path / "absent.json"))
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("employee_id,email,display_name,department\nE1,a@example.com,J\xf6rg,Sales\n".encode("latin-1"))
    with pytest.raises(IngestRejected, match="not valid UTF-8"):
        ingest_employees(engine, str(bad))


def test_the_councils_weekly_figures_keep_a_person_who_moved_in_their_old_department_for_earlier_weeks(
        engine, tmp_path, monkeypatch):
    import polars as pl

    from portal.council import figures
    from portal.lake import volume_rollup

    ingest_employees(engine, write(tmp_path, COMPANY))
    moved = listing(user("E101", "Jonas Berg", sub="00u-jonas", department="Marketing", manager="E100"))
    ingest_employees(engine, write(tmp_path, moved, "moved.json"), effective=date(2026, 11, 16))
    weeks = [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)]
    volume = pl.DataFrame({"subject_id": ["E101"] * 4 + ["E100"] * 4 + ["E999"],
                           "category": ["chat"] * 9, "week": weeks * 2 + [weeks[0]], "records": [1] * 9},
                          schema={"subject_id": pl.String, "category": pl.String, "week": pl.Date,
                                  "records": pl.Int64})
    monkeypatch.setattr(volume_rollup, "weekly_records", lambda store: volume)
    facts = figures.collection_facts(None, figures._departments(engine))
    maria_code = facts.filter(pl.col("department") == "Sales", pl.col("week") == weeks[3])["person"].to_list()
    assert facts.height == 9  # every record counted once, including the stranger's
    assert facts.filter(pl.col("department") == figures.NO_DEPARTMENT).height == 1
    assert len(maria_code) == 1  # in the last week only Maria is in Sales
    moved_person = facts.filter(pl.col("department") == "Marketing")["person"].unique().to_list()
    assert len(moved_person) == 1
    jonas_rows = facts.filter(pl.col("person") == moved_person[0]).sort("week")
    assert jonas_rows["department"].to_list() == ["Sales", "Sales", "Marketing", "Marketing"]


def test_a_line_manager_the_directory_does_not_name_as_the_persons_manager_is_flagged_on_their_view(
        engine, tmp_path):
    from datetime import UTC, datetime

    from portal.audit import access_events, my_access
    from portal.core import catalog

    with engine.begin() as conn:
        catalog.sync(conn)
    ingest_employees(engine, write(tmp_path, COMPANY))  # E100 manages E101 and E102

    def read(n: int, reader: str) -> dict:
        return {"event_id": f"ev-{n}", "time": "2026-11-19T10:00:00Z",
                "actor": {"id": f"usr-{reader}", "kind": "person", "name": reader, "team": "Sales",
                          "role": "line-managers", "employee": reader},
                "subject": "E101", "category": "user.workplace.performance", "action": "view",
                "purpose": "employment.performance_management", "justification": "review",
                "source_system": "HRIS", "record_count": 1, "query_id": f"q-{n}"}

    path = tmp_path / "reads.jsonl"
    path.write_text(json.dumps(read(1, "E100")) + "\n" + json.dumps(read(2, "E102")) + "\n")
    access_events.ingest_access(engine, path, now=datetime(2026, 11, 20, tzinfo=UTC))
    with engine.connect() as conn:
        events = {e.event_id: e for e in my_access.events_for_subject(conn, "E101")}
    assert not events["ev-1"].flags  # the manager the directory names
    assert any("directory names someone else as your line manager" in f for f in events["ev-2"].flags)


def test_an_address_the_directory_does_not_vouch_for_never_matches_a_sign_in_by_email(engine, tmp_path):
    from portal.bootstrap import employee_directory

    text = ("employee_id,subject,email,email_verified,display_name,department\n"
            "E500,sub-500,vouched@example.com,true,Vera Vouched,Legal\n"
            "E501,sub-501,unvouched@example.com,false,Uwe Unvouched,Legal\n")
    ingest_employees(engine, write(tmp_path, text, "people.csv"))
    directory = employee_directory(engine)
    assert directory.by_email("Vouched@Example.com").employee_id == "E500"
    assert directory.by_email("unvouched@example.com") is None
    assert directory.by_subject("sub-501").employee_id == "E501"  # the subject still finds them


def test_a_second_change_on_the_same_day_replaces_the_first(engine, tmp_path):
    ingest_employees(engine, write(tmp_path, COMPANY))
    for department in ("Marketing", "Legal"):
        moved = listing(user("E101", "Jonas Berg", sub="00u-jonas", department=department, manager="E100"))
        ingest_employees(engine, write(tmp_path, moved, f"{department}.json"), effective=date(2026, 11, 16))
    assert history(engine, "E101") == [("Sales", "Sales", None, date(2026, 11, 16)),
                                       ("Legal", "Legal", date(2026, 11, 16), None)]
