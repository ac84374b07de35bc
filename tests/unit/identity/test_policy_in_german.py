"""The policy's words in the reader's language: action descriptions, role labels, denials, the rights table."""

import polars as pl
import pytest

from portal.core.i18n import _, in_language
from portal.identity import policy, rights
from portal.identity.policy import PermissionDenied, ensure
from portal.identity.principal import Employee, Principal


def person(*roles, employee_id="E00001"):
    employee = Employee(employee_id, "X", "x@example.com", "D", "T", "J") if employee_id else None
    return Principal(subject="s", email=None, name=None, employee=employee, roles=frozenset(roles))


def test_an_action_description_reads_in_german_where_it_is_shown():
    description = policy.action("export:own").description
    assert description == "Download a copy of everything held about yourself."  # stored in English
    with in_language("de"):
        assert _(description) == "Eine Kopie aller über Sie gespeicherten Daten herunterladen."


def test_role_labels_read_in_german_where_they_are_shown():
    with in_language("de"):
        assert [_(policy.ROLE_LABELS[r]) for r in ("works_council", "privacy_office")] == \
            ["Betriebsrat", "Datenschutzstelle"]


def test_a_denial_says_why_in_german():
    with in_language("de"), pytest.raises(PermissionDenied, match="^Nicht erlaubt: export:own gilt nur für Ihre "
                                                                  "eigenen Daten.$"):
        ensure(person("employee"), "export:own", "E00002")


def test_the_rights_table_reads_in_german_with_allowed_actions_first():
    with in_language("de"):
        frame = rights.rights_frame(person("employee"))
    assert frame.columns == ["Aktion", "Sie dürfen", "Umfang", "Zulässige Rollen", "Name"]
    assert frame["Sie dürfen"].to_list() == sorted(frame["Sie dürfen"].to_list(), key=lambda v: v != "ja")
    export = frame.row(by_predicate=pl.col("Name") == "export:own", named=True)
    assert (export["Sie dürfen"], export["Umfang"], export["Zulässige Rollen"]) == \
        ("ja", "nur Ihre eigenen Daten", "Beschäftigte")


def test_the_rights_table_stays_english_by_default():
    frame = rights.rights_frame(person("employee"))
    assert frame.columns == ["Action", "You may", "Scope", "Roles allowed", "Name"]
    assert frame["You may"].to_list()[0] == "yes" and frame["You may"].to_list()[-1] == "no"
