"""The layout holds: contexts import only contexts below them, modules import no cycle, and the domain never
imports streamlit (docs/architecture.md)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
PORTAL = ROOT / "portal"
ORDER = ["core", "identity", "lake", "audit", "lineage", "privacy", "council", "demo", "commands"]
# Known upward imports, each with its reason; a new one fails the test below.
EXCEPTIONS = {
    # Erasure drops the council's in-memory rollups and releases of the erased person.
    ("privacy/erasure_steps.py", "portal.council"),
}


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
