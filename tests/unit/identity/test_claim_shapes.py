"""ID-token claims shaped as each identity provider's documentation shows them, read by the portal's rules.

Each provider's page in docs/identity-providers/ says what to enable and which PORTAL_ settings to
set; these tests hold the portal to it. The directory knows Wanda (works council) and Priya (privacy
office) by the subject the company's HR import stored, which is the provider's stable identifier.
"""

from __future__ import annotations

import pytest

from portal.core.settings import DEFAULT_ROLE_GROUPS, SettingsError, load_settings
from portal.identity.principal import (
    MAX_SHOWN_GROUPS,
    ClaimRules,
    ClaimsError,
    Directory,
    Employee,
    principal_from_claims,
)

# Subjects as the providers issue them: Keycloak and Cognito user ids (UUIDs), Entra ID object ids (oid),
# Okta user ids, Google account numbers.
KEYCLOAK_WANDA = "f3a1c2d4-5b6e-4f70-8a9b-0c1d2e3f4a5b"
ENTRA_WANDA_OID = "00000000-0000-0000-66f3-3332eca7ea81"
ENTRA_TENANT = "9122040d-6c67-4c5b-b112-36a304b66dad"
OKTA_WANDA = "00uixa271s6x7qt8I0h7"
GOOGLE_WANDA = "110169484474386276334"
COUNCIL_GROUP_ID = "5e1c2e43-8f7a-4c1b-9d3e-2a6b7c8d9e0f"  # an Entra ID group object id

WANDA = Employee("E00003", "Wanda Nowak", "wanda@example.com", "Operations", "Facilities", "Coordinator", "wanda")
PRIYA = Employee("E00004", "Priya Raman", "priya@example.com", "Legal", "Privacy Office", "Specialist", "priya")
BY_SUBJECT = {s: WANDA for s in (KEYCLOAK_WANDA, ENTRA_WANDA_OID, OKTA_WANDA, GOOGLE_WANDA)}
DIRECTORY = Directory(
    by_subject=BY_SUBJECT.get,
    by_email={"wanda@example.com": WANDA, "priya@example.com": PRIYA}.get,
)
ENTRA = ClaimRules(subject_claim="oid", role_groups={**DEFAULT_ROLE_GROUPS, COUNCIL_GROUP_ID: "works_council"})


def read(claims, rules=None):
    return principal_from_claims(claims, DIRECTORY, rules or ClaimRules())


def keycloak(**extra):
    """A Keycloak ID token with the group membership mapper's "Full group path" on (its default)."""
    claims = {
        "exp": 1764330000, "iat": 1764329700, "auth_time": 1764329690, "jti": "b8e2c6a4-0f1d-4e5a-9c3b-7d2e1f0a9b8c",
        "iss": "https://sso.example.com/realms/acme", "aud": "telemetry-portal", "sub": KEYCLOAK_WANDA, "typ": "ID",
        "azp": "telemetry-portal", "sid": "1f2e3d4c-5b6a-7980-a1b2-c3d4e5f60718", "acr": "1",
        "email_verified": True, "name": "Wanda Nowak", "preferred_username": "wanda", "given_name": "Wanda",
        "family_name": "Nowak", "email": "wanda@example.com", "groups": ["/works-council", "/staff/operations"],
    }
    claims.update(extra)
    return claims


def entra(**extra):
    """A Microsoft Entra ID v2.0 ID token: per-application sub, oid and tid, group object ids, app roles,
    e-mail as an optional claim and no email_verified."""
    claims = {
        "aud": "6cb04018-a3f5-46a7-b995-940c78f5aef3", "iss": f"https://login.microsoftonline.com/{ENTRA_TENANT}/v2.0",
        "iat": 1764329700, "nbf": 1764329700, "exp": 1764333600, "name": "Wanda Nowak", "oid": ENTRA_WANDA_OID,
        "preferred_username": "wanda@example.com", "email": "wanda@example.com",
        "rh": "0.ARoAv4j5cvGGr0GRqy180BHbR1U.", "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
        "tid": ENTRA_TENANT, "uti": "AbCdEf123456", "ver": "2.0",
        "groups": [COUNCIL_GROUP_ID, "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"], "roles": ["privacy-office"],
    }
    claims.update(extra)
    return claims


def entra_overage(**extra):
    """Entra ID when the person is in more groups than fit: pointers to Microsoft Graph instead of groups."""
    claims = entra(**extra)
    del claims["groups"]
    claims["_claim_names"] = {"groups": "src1"}
    claims["_claim_sources"] = {"src1": {
        "endpoint": f"https://graph.windows.net/{ENTRA_TENANT}/users/{ENTRA_WANDA_OID}/getMemberObjects"}}
    return claims


def okta(**extra):
    """An Okta ID token with the app's groups claim (filter "Matches regex" .*)."""
    claims = {
        "sub": OKTA_WANDA, "ver": 1, "iss": "https://acme.okta.com", "aud": "0oaoiuhhch8VRtBnC0h7",
        "iat": 1764329700, "exp": 1764333300, "jti": "ID.ewMNfSvcpuqyS93OgVeCN3F2LseqROkyYjz7DNb9yhs",
        "amr": ["pwd", "mfa"], "idp": "00oixa26ycdNcX0VT0h7", "nonce": "UBGW", "auth_time": 1764329690,
        "name": "Wanda Nowak", "email": "wanda@example.com", "email_verified": True,
        "groups": ["Everyone", "works-council"],
    }
    claims.update(extra)
    return claims


def google(**extra):
    """A Google Workspace ID token: hd names the company's domain; there is no groups claim."""
    claims = {
        "iss": "https://accounts.google.com", "azp": "1234987819200.apps.googleusercontent.com",
        "aud": "1234987819200.apps.googleusercontent.com", "sub": GOOGLE_WANDA, "hd": "example.com",
        "email": "wanda@example.com", "email_verified": True, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
        "name": "Wanda Nowak", "given_name": "Wanda", "family_name": "Nowak", "iat": 1764329700, "exp": 1764333300,
    }
    claims.update(extra)
    return claims


def cognito(**extra):
    """An Amazon Cognito user pool ID token: the pool's own sub, groups in cognito:groups, and email_verified
    as text (as Cognito's user attributes hold it)."""
    claims = {
        "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "cognito:groups": ["privacy-office"],
        "email_verified": "true", "iss": "https://cognito-idp.eu-central-1.amazonaws.com/eu-central-1_example",
        "cognito:username": "priya", "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "aud": "xxxxxxxxxxxxexample", "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "token_use": "id",
        "auth_time": 1764329690, "exp": 1764333300, "iat": 1764329700, "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "email": "priya@example.com",
    }
    claims.update(extra)
    return claims


COGNITO = ClaimRules(role_claims=("groups", "roles", "cognito:groups"))


# Keycloak


def test_keycloak_full_group_paths_give_their_roles_with_the_default_mapping():
    p = read(keycloak())
    assert p.employee == WANDA and p.subject == KEYCLOAK_WANDA
    assert p.roles == {"employee", "works_council"}
    assert p.unmapped_groups == ("/staff/operations",)


def test_keycloak_nested_group_paths_match_the_mapping_by_their_last_segment():
    p = read(keycloak(groups=["/org/works-council", "/org/legal/privacy-office/"]))
    assert p.roles == {"employee", "works_council", "privacy_office"}


def test_an_exact_group_path_in_the_mapping_wins_over_its_last_segment():
    rules = ClaimRules(role_groups={**DEFAULT_ROLE_GROUPS, "/guests/works-council": "", "/legal/works-council":
                                    "privacy_office"})
    assert read(keycloak(groups=["/guests/works-council"]), rules).roles == {"employee"}
    assert read(keycloak(groups=["/legal/works-council"]), rules).roles == {"employee", "privacy_office"}
    assert read(keycloak(groups=["/works-council"]), rules).roles == {"employee", "works_council"}


def test_keycloak_client_roles_are_read_from_resource_access_by_a_dotted_path():
    claims = keycloak(groups=[], resource_access={"telemetry-portal": {"roles": ["privacy-office"]},
                                                  "account": {"roles": ["manage-account"]}})
    rules = ClaimRules(role_claims=("groups", "resource_access.telemetry-portal.roles"))
    assert read(claims, rules).roles == {"employee", "privacy_office"}
    assert read(claims).roles == {"employee"}  # not named in the role claims: ignored


def test_keycloak_realm_roles_are_read_from_realm_access_by_a_dotted_path():
    claims = keycloak(groups=[], realm_access={"roles": ["offline_access", "works-council", "default-roles-acme"]})
    p = read(claims, ClaimRules(role_claims=("groups", "realm_access.roles")))
    assert p.roles == {"employee", "works_council"}
    assert p.unmapped_groups == ("offline_access", "default-roles-acme")


def test_a_client_id_with_dots_is_followed_as_one_key_of_a_dotted_path():
    claims = keycloak(groups=[], resource_access={"portal.example.com": {"roles": ["works-council"]}})
    rules = ClaimRules(role_claims=("resource_access.portal.example.com.roles",))
    assert read(claims, rules).roles == {"employee", "works_council"}


def test_a_claim_whose_name_holds_dots_is_read_by_that_name_before_any_path():
    claims = keycloak(groups=[], **{"https://portal.example.com/roles": ["privacy-office"]})
    assert read(claims, ClaimRules(role_claims=("https://portal.example.com/roles",))).roles == {
        "employee", "privacy_office"}


def test_a_keycloak_guest_in_the_works_council_group_gets_no_role_and_no_record():
    p = read(keycloak(sub="7e8f9a0b-guest", email="guest@partner.example", groups=["/works-council"]))
    assert p.employee is None and p.roles == frozenset()
    assert p.withheld_roles == {"works_council"}


# Microsoft Entra ID


def test_entra_with_default_settings_finds_nobody_because_its_sub_differs_per_app_and_it_sends_no_email_verified():
    p = read(entra())
    assert p.employee is None and p.roles == frozenset()


def test_entra_with_the_oid_subject_claim_finds_the_person_and_maps_group_ids_and_app_roles():
    p = read(entra(), ENTRA)
    assert p.employee == WANDA and p.subject == ENTRA_WANDA_OID
    assert p.roles == {"employee", "works_council", "privacy_office"}
    assert p.unmapped_groups == ("0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",)


def test_entra_e_mail_never_opens_a_record_because_it_sends_no_email_verified():
    p = read(entra(oid="ffffffff-0000-0000-0000-unknown00000", email="priya@example.com"), ENTRA)
    assert p.employee is None and p.roles == frozenset()


def test_entra_group_overage_is_refused_with_what_happened_and_what_to_configure():
    with pytest.raises(ClaimsError) as caught:
        read(entra_overage(), ENTRA)
    message = str(caught.value)
    assert "'groups'" in message and "too many groups" in message
    assert "Groups assigned to the application" in message and "PORTAL_ROLE_CLAIMS=roles" in message


def test_entra_implicit_flow_overage_hasgroups_is_refused_too():
    claims = entra(hasgroups=True)
    del claims["groups"]
    with pytest.raises(ClaimsError, match="too many groups"):
        read(claims, ENTRA)


def test_an_overage_of_a_claim_the_portal_does_not_read_is_no_reason_to_refuse():
    rules = ClaimRules(subject_claim="oid", role_claims=("roles",))
    assert read(entra_overage(), rules).roles == {"employee", "privacy_office"}
    claims = entra(hasgroups=True)
    del claims["groups"]
    assert read(claims, rules).roles == {"employee", "privacy_office"}


# Okta


def test_okta_with_a_groups_claim_finds_the_person_and_gives_the_role():
    p = read(okta())
    assert p.employee == WANDA and p.roles == {"employee", "works_council"}
    assert p.unmapped_groups == ("Everyone",)


# Google Workspace


def test_google_workspace_finds_the_person_but_can_give_no_staff_role_since_it_sends_no_groups():
    p = read(google())
    assert p.employee == WANDA and p.roles == {"employee"}
    assert p.groups == () and p.unmapped_groups == ()


def test_google_workspace_finds_a_person_by_verified_e_mail_when_the_subject_is_not_in_the_directory():
    p = read(google(sub="104443333333333333333", email="priya@example.com"))
    assert p.employee == PRIYA and p.roles == {"employee"}


# Amazon Cognito


def test_cognito_groups_give_roles_once_named_in_the_role_claims():
    p = read(cognito(), COGNITO)
    assert p.employee == PRIYA and p.roles == {"employee", "privacy_office"}


def test_cognito_groups_are_ignored_by_the_default_role_claims():
    p = read(cognito())
    assert p.employee == PRIYA and p.roles == {"employee"}


@pytest.mark.parametrize("verified", [True, "true", "TRUE", "True", " true "])
def test_email_verified_as_a_boolean_or_the_text_true_in_any_case_lets_the_e_mail_find_the_person(verified):
    assert read(cognito(email_verified=verified), COGNITO).employee == PRIYA


@pytest.mark.parametrize("verified", [False, "false", "FALSE", "False", "yes", "1", 1, None, "missing"])
def test_email_verified_false_absent_or_anything_else_never_lets_the_e_mail_find_the_person(verified):
    claims = cognito(email_verified=verified)
    if verified == "missing":
        del claims["email_verified"]
    p = read(claims, COGNITO)
    assert p.employee is None and p.roles == frozenset() and p.withheld_roles == {"privacy_office"}


# The mapping and its settings


def test_with_default_settings_a_keycloak_path_and_an_app_role_grant_their_roles_to_a_known_employee():
    rules = ClaimRules.from_settings(load_settings())
    p = read(keycloak(groups=["/works-council"], roles=["privacy-office"]), rules)
    assert p.roles == {"employee", "works_council", "privacy_office"}


def test_the_default_settings_make_the_default_rules():
    assert ClaimRules.from_settings(load_settings()) == ClaimRules()


def test_portal_role_groups_extends_the_defaults(monkeypatch):
    monkeypatch.setenv("PORTAL_ROLE_GROUPS", f'{{"{COUNCIL_GROUP_ID}": "works_council"}}')
    settings = load_settings()
    assert settings.role_groups == {**DEFAULT_ROLE_GROUPS, COUNCIL_GROUP_ID: "works_council"}
    rules = ClaimRules.from_settings(settings)
    assert read(okta(groups=["privacy-office"]), rules).roles == {"employee", "privacy_office"}
    assert read(okta(groups=[COUNCIL_GROUP_ID]), rules).roles == {"employee", "works_council"}


def test_mapping_a_default_group_to_an_empty_role_switches_it_off(monkeypatch):
    monkeypatch.setenv("PORTAL_ROLE_GROUPS", '{"works-council": "", "BR-Mitglieder": "works_council"}')
    rules = ClaimRules.from_settings(load_settings())
    p = read(okta(groups=["works-council", "/works-council"]), rules)
    assert p.roles == {"employee"} and p.unmapped_groups == ("works-council", "/works-council")
    assert read(okta(groups=["BR-Mitglieder"]), rules).roles == {"employee", "works_council"}


def test_a_mapped_group_without_an_employee_record_grants_nothing():
    p = read(okta(sub="00u-contractor", email="contractor@partner.example", groups=["works-council", "other"]))
    assert p.employee is None and p.roles == frozenset()
    assert p.withheld_roles == {"works_council"} and p.unmapped_groups == ("other",)


def test_many_unmapped_group_ids_are_kept_to_ten_with_their_total_count():
    ids = [f"{i:08x}-0000-0000-0000-000000000000" for i in range(25)]
    p = read(entra(groups=ids), ENTRA)
    assert p.unmapped_groups == tuple(ids[:MAX_SHOWN_GROUPS]) and MAX_SHOWN_GROUPS == 10
    assert p.unmapped_group_count == 25 and len(p.groups) == 26  # the 25 ids and the app role


def test_a_value_in_two_role_claims_counts_once():
    p = read(okta(groups=["works-council", "finance"], roles=["works-council", "finance"]))
    assert p.groups == ("works-council", "finance") and p.unmapped_group_count == 1


def test_a_role_claim_as_comma_separated_text_is_read_as_names():
    assert read(okta(groups="Everyone, works-council ,")).roles == {"employee", "works_council"}


@pytest.mark.parametrize(("claims", "rules", "says"), [
    (okta(groups={"works-council": True}), None, "'groups' claim .* holds an object"),
    (okta(groups=["works-council", 7]), None, "'groups' claim .* holds a number among them"),
    (okta(roles=True), None, "'roles' claim .* holds true"),
    (keycloak(resource_access={"telemetry-portal": {"roles": ["x"]}}), ClaimRules(role_claims=("resource_access",)),
     "'resource_access' claim .* holds an object; name a path to the list inside it"),
], ids=["object", "list with a number", "boolean", "object named by a path"])
def test_a_role_claim_that_is_not_names_is_refused_naming_the_claim(claims, rules, says):
    with pytest.raises(ClaimsError, match=says):
        read(claims, rules)


@pytest.mark.parametrize(("claims", "says"), [
    (entra(oid=None), "no subject: its 'oid' claim, which PORTAL_SUBJECT_CLAIM names .* is missing"),
    (entra(oid=""), "subject is empty: its 'oid' claim, which PORTAL_SUBJECT_CLAIM names"),
    (entra(oid="   "), "subject is empty: its 'oid' claim"),
    (entra(oid=42), "subject is not text: its 'oid' claim, .* holds a number"),
], ids=["missing", "empty", "blank", "a number"])
def test_a_configured_subject_claim_missing_from_the_token_is_refused_naming_it_and_the_setting(claims, says):
    if claims["oid"] is None:
        del claims["oid"]
    with pytest.raises(ClaimsError, match=says):
        read(claims, ENTRA)


def test_the_subject_is_the_value_of_the_configured_claim_not_sub():
    assert read(entra(), ENTRA).subject == ENTRA_WANDA_OID


# Settings


@pytest.mark.parametrize(("value", "claims"), [
    ("groups,roles,cognito:groups", ["groups", "roles", "cognito:groups"]),
    (' groups , realm_access.roles ', ["groups", "realm_access.roles"]),
    ('["groups", "resource_access.telemetry-portal.roles"]', ["groups", "resource_access.telemetry-portal.roles"]),
    ("groups,groups", ["groups"]),
    ("roles", ["roles"]),
])
def test_portal_role_claims_takes_a_json_list_or_comma_separated_names(monkeypatch, value, claims):
    monkeypatch.setenv("PORTAL_ROLE_CLAIMS", value)
    assert load_settings().role_claims == claims


@pytest.mark.parametrize(("value", "message"), [
    ("", "PORTAL_ROLE_CLAIMS: .*names no claim"),
    ("[]", "PORTAL_ROLE_CLAIMS: .*names no claim"),
    ("groups,,roles", "PORTAL_ROLE_CLAIMS: .*claim name 2 of 3 is empty"),
    ("groups roles", "PORTAL_ROLE_CLAIMS: .*'groups roles' holds a space; separate claim names with commas"),
    ("groups,\x07roles", "PORTAL_ROLE_CLAIMS: .*holds a control character"),
    ("[1, 2]", "PORTAL_ROLE_CLAIMS: .*must be claim names"),
    ('{"groups": 1}', "PORTAL_ROLE_CLAIMS: .*must be claim names"),
    ("[groups", "PORTAL_ROLE_CLAIMS: .*starts like JSON but is not JSON"),
    ("[" * 8000 + "]" * 8000, "PORTAL_ROLE_CLAIMS: .*nested more than 64 levels"),
    (",".join(f"c{i}" for i in range(17)), "PORTAL_ROLE_CLAIMS: .*names 17 claims; at most 16"),
    ("g" * 201, "PORTAL_ROLE_CLAIMS: .*201 characters long; a claim name has at most 200"),
], ids=["empty", "empty list", "empty name", "space", "control", "numbers", "object", "broken json", "deep",
        "too many", "too long"])
def test_a_bad_portal_role_claims_is_refused_naming_the_setting(monkeypatch, value, message):
    monkeypatch.setenv("PORTAL_ROLE_CLAIMS", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_portal_subject_claim_defaults_to_sub_and_takes_oid(monkeypatch):
    assert load_settings().subject_claim == "sub"
    monkeypatch.setenv("PORTAL_SUBJECT_CLAIM", "oid")
    assert ClaimRules.from_settings(load_settings()).subject_claim == "oid"


@pytest.mark.parametrize(("value", "message"), [
    ("", "PORTAL_SUBJECT_CLAIM: .*the subject claim is empty"),
    ("  ", "PORTAL_SUBJECT_CLAIM: .*the subject claim is empty"),
    ("o id", "PORTAL_SUBJECT_CLAIM: .*holds a space"),
    ("s" * 201, "PORTAL_SUBJECT_CLAIM: .*a claim name has at most 200"),
    ("email", "PORTAL_SUBJECT_CLAIM: .*'email' is a claim that people or administrators can change"),
    ("preferred_username", "PORTAL_SUBJECT_CLAIM: .*can change, so it cannot identify a person; use .* oid"),
    ("upn", "PORTAL_SUBJECT_CLAIM: .*'upn' is a claim that people or administrators can change"),
], ids=["empty", "blank", "space", "too long", "email", "preferred_username", "upn"])
def test_a_bad_portal_subject_claim_is_refused_naming_the_setting(monkeypatch, value, message):
    monkeypatch.setenv("PORTAL_SUBJECT_CLAIM", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


@pytest.mark.parametrize(("value", "message"), [
    ('{"admins": "employee"}', "PORTAL_ROLE_GROUPS: .*unknown role 'employee'; known roles: privacy_office, "
                               'works_council, or "" to switch a group off'),
    ('{" ": "works_council"}', "PORTAL_ROLE_GROUPS: .*a group name is empty"),
], ids=["employee is not assignable", "empty group name"])
def test_a_bad_portal_role_groups_is_refused_naming_the_setting(monkeypatch, value, message):
    monkeypatch.setenv("PORTAL_ROLE_GROUPS", value)
    with pytest.raises(SettingsError, match=message):
        load_settings()


def test_claim_rules_built_by_hand_refuse_an_unknown_role_or_a_single_string_of_claims():
    with pytest.raises(ValueError, match="unknown roles"):
        ClaimRules(role_groups={"admins": "superuser"})
    with pytest.raises(TypeError, match="not one string"):
        ClaimRules(role_claims="groups")  # type: ignore[arg-type]
