"""The layout holds: contexts import only contexts below them, modules import no cycle, and the domain never
imports streamlit (docs/architecture.md)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
ORDER = ["core", "identity", "lake", "audit", "lineage", "privacy", "collection", "council", "notify", "engines", "demo",
         "commands"]
# Known upward imports, each with its reason; a new one fails the test below.
EXCEPTIONS: set[tuple[str, str]] = set()


def modules() -> dict[str, pathlib.Path]:
    found = {}
    for path in sorted(PORTAL.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        found[name] = path
    return found


def imports(path: pathlib.Path) -> list[str]:
    """Every portal module or package named by an import in ``path``."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return names


def test_a_context_imports_only_contexts_below_it():
    upward = set()
    for name, path in modules().items():
        parts = path.relative_to(PORTAL).parts
        if len(parts) < 2 or parts[0] not in ORDER:
            continue
        for target in imports(path):
            context = target.split(".")[1] if target.startswith("portal.") else None
            if context in ORDER and ORDER.index(context) > ORDER.index(parts[0]):
                upward.add(("/".join(parts), ".".join(target.split(".")[:2])))
    assert upward == EXCEPTIONS


def test_no_two_modules_import_each_other():
    known = modules()
    edges = {name: {t for t in imports(path) if t in known and t != name} for name, path in known.items()}
    pairs = {tuple(sorted((a, b))) for a, targets in edges.items() for b in targets if a in edges.get(b, ())}
    assert pairs == set()


def test_the_domain_never_imports_streamlit():
    offenders = [name for name, path in modules().items()
                 if any(t == "streamlit" or t.startswith("streamlit.") for t in imports(path))]
    assert offenders == []


def test_every_context_says_what_it_owns():
    for context in ORDER:
        init = PORTAL / context / "__init__.py"
        assert init.exists() and ast.get_docstring(ast.parse(init.read_text())), context


PAGES = ROOT / "app_pages"
SERVICE_OBJECTS = {"svc", "current"}  # names the pages give the services (ctx.services, ui.services())


def _service_calls(tree: ast.AST) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            named = isinstance(owner, ast.Name) and owner.id in SERVICE_OBJECTS
            via_ctx = isinstance(owner, ast.Attribute) and owner.attr == "services"
            if named or via_ctx:
                calls.append(node)
    return calls


def test_every_call_a_page_makes_to_the_services_takes_the_principal_first():
    found = 0
    for path in sorted(PAGES.glob("*.py")):
        for call in _service_calls(ast.parse(path.read_text())):
            found += 1
            first = call.args[0] if call.args else None
            name = first.id if isinstance(first, ast.Name) else first.attr if isinstance(first, ast.Attribute) else None
            assert name == "principal", f"{path.name}:{call.lineno}: {ast.unparse(call)}"
    assert found >= 20  # the pages do call the services: the rule above is not vacuous


def test_no_page_reaches_past_the_services_into_a_store():
    for path in sorted(PAGES.glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in {"engine", "store", "settings", "log", "directory"}:
                raise AssertionError(f"{path.name}:{node.lineno}: a page uses .{node.attr}: {ast.unparse(node)}")
            if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "document":
                raise AssertionError(f"{path.name}:{node.lineno}: a page reads a receipt's JSON: {ast.unparse(node)}")


def test_the_tests_of_each_tier_mirror_the_contexts():
    for tier in ("unit", "integration"):
        folders = {p.name for p in (ROOT / "tests" / tier).iterdir() if p.is_dir() and p.name != "__pycache__"}
        assert folders <= set(ORDER), f"tests/{tier} has folders that are not contexts: {folders - set(ORDER)}"
        loose = {p.name for p in (ROOT / "tests" / tier).glob("test_*.py")}
        # Only what is about the whole: the layout itself, the composition's services, Streamlit's config.
        assert loose <= {"test_architecture.py", "test_services.py", "test_streamlit_config.py"}, loose
