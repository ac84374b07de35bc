"""An erasure of everything takes the person's notices with it (they name who read their data and when), and
its verification fails while one of them remains; the notice that the erasure is done comes after."""

import json

import sqlalchemy as sa

from portal import notify
from portal.core import db
from portal.notify.run import holders_in
from portal.privacy import erasure, privacy_requests
from tests.integration.notify.test_notify_run import ALICE, _principal, _read, company  # noqa: F401 - fixture
from portal.core.roles import PRIVACY_OFFICE


def test_an_erasure_of_everything_removes_the_notices_and_the_next_run_says_it_is_done(company, tmp_path):  # noqa: F811
    _read(company, tmp_path, purpose=None)
    notify.run(company.engine, company.settings, holders=holders_in(company.store))
    alice, priya = _principal("alice"), _principal("priya", PRIVACY_OFFICE)
    assert notify.for_principal(company.engine, alice)
    filed = privacy_requests.file_request(company.engine, alice, ALICE.employee_id, "erasure")
    privacy_requests.approve(company.engine, priya, filed.request_id, "identity confirmed")
    receipt = erasure.execute(company.engine, company.store, priya, filed.request_id)

    with company.engine.connect() as conn:
        left = conn.execute(sa.select(db.notices.c.kind).where(db.notices.c.employee_id == ALICE.employee_id)).all()
    assert left == []
    verified = json.loads(receipt.text)
    assert "notices" in json.dumps(verified)
    notify.run(company.engine, company.settings, holders=holders_in(company.store))
    subjects = [n.subject for n in notify.for_principal(company.engine, alice)]
    assert "Your request is now: done and verified" in subjects
    assert not [s for s in subjects if "flagged" in s]
