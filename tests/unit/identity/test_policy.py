import ast
from pathlib import Path

import pytest

from portal.identity import policy
from portal.identity.principal import Employee, Principal
from portal.identity.policy import PermissionDenied, UnknownAction, allowed, ensure

ROOT = Path(__file__).resolve().parents[3]


def person(*roles, employee_id="E00001"):
    employee = Employee(employee_id, "X", "x@example.com", "D", "T", "J") if employee_id else None
    return Principal(subject="s", email=None, name=None, employee=employee, roles=frozenset(roles))


EMP = person("employee")
WC = person("employee", "works_council", employee_id="E00003")
PO = person("employee", "privacy_office", employee_id="E00004")
WC_ONLY = person("works_council", employee_id=None)
NOBODY = person(employee_id=None)

# (principal, action, resource, expected): the allow/deny table.
TABLE = [
    (EMP, "telemetry:read_own", "E00001", True),
    (EMP, "telemetry:read_own", "E00002", False),
    (EMP, "telemetry:read_own", None, False),
    (EMP, "export:own", "E00001", True),
    (EMP, "aggregates:read", None, False),
    (EMP, "requests:decide", None, False),
    (EMP, "subjects:lookup", "E00002", False),
    (EMP, "rights:read_own", None, True),
    (WC, "aggregates:read", None, True),
    (WC, "exposure:read", None, True),
    (WC, "telemetry:read_own", "E00003", True),
    (WC, "telemetry:read_own", "E00001", False),
    (WC, "requests:read_all", None, False),
    (WC, "subjects:lookup", "E00001", False),
    (PO, "requests:decide", None, True),
    (PO, "subjects:lookup", "E00001", True),
    (PO, "telemetry:read_own", "E00001", False),
    (PO, "telemetry:read_own", "E00004", True),
    (WC_ONLY, "telemetry:read_own", None, False),
    (WC_ONLY, "aggregates:read", None, True),
    (NOBODY, "rights:read_own", None, False),
    (NOBODY, "telemetry:read_own", None, False),
    (None, "telemetry:read_own", "E00001", False),
    (EMP, "collectors:read", None, False),
    (EMP, "collectors:register", None, False),
    (EMP, "collectors:decide", None, False),
    (WC, "collectors:read", None, True),
    (WC, "collectors:decide", None, True),
    (WC, "collectors:register", None, False),
    (PO, "collectors:read", None, True),
    (PO, "collectors:register", None, True),
    (PO, "collectors:decide", None, False),
]


@pytest.mark.parametrize(("who", "name", "resource", "expected"), TABLE)
def test_the_allow_deny_table_holds(who, name, resource, expected):
    assert allowed(who, name, resource) is expected


def test_every_role_holds_no_action_it_was_not_given():
    for act in policy.ACTIONS.values():
        for role in policy.ROLES - act.roles:
            assert not allowed(person(role), act.name, "E00001")


def test_ensure_raises_a_denial_that_names_the_reason():
    with pytest.raises(PermissionDenied, match="only applies to your own data"):
        ensure(EMP, "telemetry:read_own", "E00002")
    with pytest.raises(PermissionDenied, match="privacy_office"):
        ensure(EMP, "requests:decide")


def test_an_unregistered_action_is_an_error_not_a_silent_no():
    with pytest.raises(UnknownAction, match="register it"):
        allowed(PO, "telemetry:read_everything")


def test_every_action_has_a_description_and_known_roles():
    for act in policy.ACTIONS.values():
        assert act.description.strip()
        assert act.roles <= policy.ROLES


def _action_literals():
    """Every string literal passed as the action to allowed/ensure/require in our code."""
    found = []
    files = [*ROOT.glob("portal/*.py"), *ROOT.glob("app_pages/*.py"), ROOT / "app.py", ROOT / "ui.py"]
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                fname = getattr(node.func, "attr", getattr(node.func, "id", ""))
                args = node.args
                if fname in {"allowed", "ensure"} and len(args) >= 2:
                    arg = args[1]
                elif fname == "require" and args:
                    arg = args[0]
                else:
                    continue
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((path.name, arg.value))
        if path.parent.name == "app_pages":
            assert "ui.require(" in path.read_text(), f"{path.name} does not guard itself with ui.require"
    return found


def test_every_action_used_by_a_page_or_service_is_registered():
    used = _action_literals()
    assert used, "expected to find policy checks in the code"
    unknown = [(f, a) for f, a in used if a not in policy.ACTIONS]
    assert not unknown


def test_every_page_in_the_navigation_names_a_registered_action():
    tree = ast.parse((ROOT / "app.py").read_text())
    pages = next(
        node.value for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES"
    )
    # Titles are marked for the message catalogs (N_("My data")): read each entry's literal strings.
    entries = [[ast.literal_eval(e.args[0] if isinstance(e, ast.Call) else e) for e in entry.elts]
               for entry in pages.elts]
    for path, _title, _icon, act in entries:
        assert act in policy.ACTIONS
        assert f'ui.require("{act}")' in (ROOT / path).read_text()
