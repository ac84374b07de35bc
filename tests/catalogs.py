"""Catalog files for tests: the default catalog extended by categories of a company's own."""

from __future__ import annotations

from pathlib import Path

from portal.core import catalog

FIXTURES = Path(__file__).parent / "fixtures" / "catalogs"
BADGE_KEY = "user.workplace.badge_swipes"


def extended_catalog(directory: Path, extra: str = "badge_swipes.toml") -> Path:
    """A catalog file in ``directory``: the default six categories and the fixture ``extra``'s."""
    path = directory / "catalog.toml"
    path.write_text(catalog.DEFAULT_FILE.read_text() + "\n" + (FIXTURES / extra).read_text())
    return path
