from datetime import UTC, datetime, timedelta

import pytest

from portal.identity.principal import ClaimRules, ClaimsError, Directory, Employee, principal_from_claims, session_expired

ALICE = Employee("E00001", "Alice Lindqvist", "alice@example.com", "Engineering", "Payments", "Engineer", "alice")
CAROL = Employee("E00077", "Carol Diaz", "carol.diaz@example.com", "Sales", "EMEA", "Manager", None)
DIRECTORY = Directory(
    by_subject=lambda sub: {"alice": ALICE}.get(sub),
    by_email=lambda email: {"alice@example.com": ALICE, "carol.diaz@example.com": CAROL}.get(email),
)


def principal(**claims):
    return principal_from_claims(claims, DIRECTORY, ClaimRules())


def test_an_employee_is_found_by_subject_first():
    p = principal(sub="alice", email="someone.else@example.com", email_verified=True)
    assert p.employee == ALICE
    assert p.roles == {"employee"}


def test_an_employee_is_found_by_verified_email_when_the_subject_is_unknown():
    p = principal(sub="0a9f-unknown", email="Carol.Diaz@example.com", email_verified=True)
    assert p.employee == CAROL


@pytest.mark.parametrize("verified", [None, False, "false", "yes", 1])
def test_an_unverified_email_never_opens_an_employee_record(verified):
    claims = {"sub": "mallory", "email": "alice@example.com"}
    if verified is not None:
        claims["email_verified"] = verified
    p = principal(**claims)
    assert p.employee is None
    assert p.roles == frozenset()


def test_an_unknown_person_gets_no_roles_and_no_employee():
    p = principal(sub="stranger", email="stranger")
    assert p.employee is None and p.employee_id is None and not p.roles


@pytest.mark.parametrize(
    ("groups", "roles"),
    [
        (["works-council"], {"employee", "works_council"}),
        (["privacy-office"], {"employee", "privacy_office"}),
        (["works-council", "privacy-office"], {"employee", "works_council", "privacy_office"}),
        ("works-council,privacy-office", {"employee", "works_council", "privacy_office"}),
        (["finance-admins"], {"employee"}),
        ([], {"employee"}),
    ],
)
def test_roles_come_from_the_groups_claim_through_the_mapping(groups, roles):
    assert principal(sub="alice", groups=groups).roles == roles


def test_groups_that_map_to_no_role_are_reported():
    p = principal(sub="alice", groups=["finance-admins", "works-council"])
    assert p.unmapped_groups == ("finance-admins",)


def test_a_group_role_without_an_employee_record_gives_nothing_because_staff_roles_are_for_people_of_the_company():
    # Before, an account matching no employee got the role its group mapped to; a guest account in the
    # works-council group could then read the council's figures. Now such a person sees "no record of you".
    p = principal(sub="external-auditor", groups=["works-council"])
    assert p.employee is None and p.roles == frozenset()
    assert p.withheld_roles == {"works_council"}


def test_a_custom_mapping_is_honoured():
    p = principal_from_claims({"sub": "alice", "groups": ["BR-Mitglieder"]}, DIRECTORY,
                              ClaimRules(role_groups={"BR-Mitglieder": "works_council"}))
    assert "works_council" in p.roles


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"sub": 42}])
def test_a_token_without_a_subject_is_rejected_with_a_reason(claims):
    with pytest.raises(ClaimsError, match="subject"):
        principal_from_claims(claims, DIRECTORY, ClaimRules())


def test_a_malformed_groups_claim_is_rejected_with_a_reason():
    with pytest.raises(ClaimsError, match="groups"):
        principal(sub="alice", groups={"a": 1})


def test_a_session_older_than_the_maximum_age_is_expired():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    fresh = principal(sub="alice", iat=(now - timedelta(hours=7, minutes=59)).timestamp())
    stale = principal(sub="alice", iat=(now - timedelta(hours=8, minutes=1)).timestamp())
    assert not session_expired(fresh, timedelta(hours=8), now)
    assert session_expired(stale, timedelta(hours=8), now)


def test_auth_time_takes_precedence_over_issued_at():
    now = datetime(2026, 11, 28, 12, tzinfo=UTC)
    p = principal(sub="alice", auth_time=(now - timedelta(hours=9)).timestamp(), iat=now.timestamp())
    assert session_expired(p, timedelta(hours=8), now)


def test_a_session_of_unknown_age_counts_as_expired():
    assert session_expired(principal(sub="alice"), timedelta(hours=8))
