"""Only an erasure of everything unlinks a person from the record of reads, and the portal can say when."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from portal.audit import my_access
from portal.privacy import unlinking
from portal.core import db
from portal.privacy import erasure, privacy_requests
from portal.identity.principal import Employee, Principal
from portal.identity.policy import EMPLOYEE
from tests.integration.privacy.test_erasure import KEYSTROKES, company, template  # noqa: F401 - fixtures


def test_an_erasure_of_everything_is_found_as_the_unlinking_of_the_persons_reads(company):
    request_id = company.approved()
    assert unlinking.for_principal(company.engine, company.alice) is None
    erasure.execute(company.engine, company.store, company.priya, request_id)
    found = unlinking.for_principal(company.engine, company.alice)
    assert found is not None and found.request_id == request_id
    assert request_id in found.sentence() and "pseudonym" in found.sentence()
    summary = my_access.summarize(my_access.events_about(company.engine, company.alice), unlinked_at=found.at)
    assert summary.unlinked_on == found.at.date() and "unlinked" in summary.sentence()
    assert "nobody but you" not in summary.sentence()


def test_erasing_one_category_keeps_the_link_and_claims_no_unlinking(company):
    erasure.execute(company.engine, company.store, company.priya, company.approved(categories=[KEYSTROKES]))
    assert unlinking.for_principal(company.engine, company.alice) is None


def test_a_person_never_linked_to_the_log_is_not_told_their_reads_were_unlinked(company):
    nina = Employee("E09999", "Nina Newcomer", "nina@example.com", "Engineering", "Payments", "Engineer", "nina")
    with company.engine.begin() as conn:  # nobody ever read her data: she has no pseudonym, so no link to remove
        conn.execute(sa.insert(db.employees).values(
            employee_id=nina.employee_id, oidc_sub=nina.oidc_sub, email=nina.email, display_name=nina.display_name,
            department=nina.department, team=nina.team, job_title=nina.job_title, hired_on=date(2026, 11, 1)))
    newcomer = Principal(subject="nina", email=nina.email, name=nina.display_name, roles=frozenset({EMPLOYEE}),
                         employee=nina)
    request_id = privacy_requests.file_request(company.engine, company.priya, nina.employee_id, "erasure",
                                               channel="letter").request_id  # filed for her: no link made
    privacy_requests.approve(company.engine, company.priya, request_id, "identity confirmed")
    erasure.execute(company.engine, company.store, company.priya, request_id)
    assert unlinking.for_principal(company.engine, newcomer) is None
