"""What a person sees when the identity provider's claims take one of the shapes docs/identity-providers/ covers."""

from tests.app.conftest import signed_in, texts


def test_a_guest_in_the_works_council_group_sees_no_record_and_why_the_group_gives_no_role(app):
    at = app(signed_in("guest-of-the-council", email="guest@partner.example", groups=["/works-council"]))
    at.run()
    assert not at.exception
    assert at.title[0].value == "We have no record of you"
    assert "Works council" in texts(at) and "only to people the company holds an employee record for" in texts(at)
    assert not at.dataframe and not at.metric


def test_wanda_signing_in_with_a_keycloak_group_path_is_a_works_council_member(app):
    at = app(signed_in("wanda", groups=["/works-council"]))
    at.run()
    assert not at.exception and at.title[0].value == "My data"
    assert "Works council" in texts(at)


def test_a_token_whose_groups_did_not_fit_is_refused_with_the_fix_shown_as_text(app):
    at = app(signed_in("wanda", groups=None, _claim_names={"groups": "src1"},
                       _claim_sources={"src1": {"endpoint": "https://graph.windows.net/t/users/o/getMemberObjects"}}))
    at.run()
    assert not at.exception
    error = at.error[0].value
    assert "too many groups" in error and "Groups assigned to the application" in error
    assert "PORTAL\\_ROLE\\_CLAIMS=roles" in error  # Markdown-escaped: shown as written, never as emphasis
    assert not at.dataframe and "My data" not in [t.value for t in at.title]


def test_a_person_with_many_unmapped_group_ids_sees_ten_and_how_many_more(app):
    ids = [f"{i:08x}-1111-2222-3333-444444444444" for i in range(25)]
    at = app(signed_in("stranger", groups=ids))
    at.run()
    assert not at.exception
    shown = texts(at)
    assert ids[9] in shown and ids[10] not in shown and "and 15 more" in shown
