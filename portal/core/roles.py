"""The portal's roles: every signed-in person with a record is an employee; the identity provider's groups
add the works council and the privacy office. What each role may do is :mod:`portal.identity.policy`."""

from portal.core.i18n import N_

EMPLOYEE = "employee"
WORKS_COUNCIL = "works_council"
PRIVACY_OFFICE = "privacy_office"
ROLES = frozenset({EMPLOYEE, WORKS_COUNCIL, PRIVACY_OFFICE})
# Roles that come from the identity provider's groups; "employee" comes from having a record.
ASSIGNABLE_ROLES = frozenset({WORKS_COUNCIL, PRIVACY_OFFICE})

# Shown as _(ROLE_LABELS[role]): the language is chosen per run, after import.
ROLE_LABELS = {
    EMPLOYEE: N_("Employee"),
    WORKS_COUNCIL: N_("Works council"),
    PRIVACY_OFFICE: N_("Privacy office"),
}
