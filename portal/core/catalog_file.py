"""Reading, validating and writing catalog files (TOML).

:func:`load` reads a catalog file and returns a :class:`~portal.core.catalog.Catalog`, or raises
:class:`CatalogError` naming the file, the line and what is wrong (every problem found, up to a limit).
:func:`to_toml` and :func:`to_json` write a catalog back out (``portal catalog show``). The fields are
documented in ``docs/catalog.md``.

Every text shown to people (a purpose's or category's name and description, a legal basis, a column's label
and meaning, a scoped role's relation) may carry a translation in a field of the same name with the
language's suffix: ``name_de = "Tastaturaktivität"``; ``legal_basis_by_purpose_de`` translates the bases of
``legal_basis_by_purpose``. A category's ``colour`` is ``#rrggbb``; a category without one gets a colour of
:data:`~portal.core.catalog_model.PALETTE` chosen from its key, one no other category has.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from portal.core.catalog_model import (
    BASES, COLUMN_TYPES, KINDS, PALETTE, PARTITION_COLUMN, SUBJECT_COLUMN, Catalog, Category, Column, Purpose,
    ScopedRole, Translations, basis_ground, english,
)
from portal.core.i18n import DEFAULT_LANGUAGE, LANGUAGES
from portal.core.roles import EMPLOYEE, WORKS_COUNCIL

MAX_BYTES = 1_000_000
MAX_LISTED = 20
MAX_RETENTION_DAYS = 36_500
_KEY = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_ROLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
REQUIRED = ("key", "name", "description", "table", "time_column", "columns", "purposes", "legal_basis",
            "retention_days", "erasable", "allowed_roles", "max_principals")
OPTIONAL = {"kind": "record", "source_system": "", "legal_basis_by_purpose": {}, "scoped_roles": [], "colour": ""}
SCOPED_FIELDS = ("role", "relation", "readers_per_person", "people_per_reader")
#: The languages a catalog's texts may be translated into (English is the text itself), and the text fields
#: of each part of the catalog with their longest length.
OTHER_LANGUAGES = tuple(language for language in LANGUAGES if language != DEFAULT_LANGUAGE)
PURPOSE_TEXTS = {"name": 200, "description": 2000}
CATEGORY_TEXTS = {"name": 200, "description": 2000, "legal_basis": 200}
COLUMN_TEXTS = {"label": 100, "meaning": 500}
SCOPED_TEXTS = {"relation": 200}
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_COLOUR_CONTRAST = 3.0  # against a white page: WCAG 2.1 1.4.11, non-text contrast


def translated_fields(texts: dict[str, int]) -> set[str]:
    """The names of the translations of ``texts``: ``name_de``, ...."""
    return {f"{name}_{language}" for name in texts for language in OTHER_LANGUAGES}


def _translations(raw: dict, texts: dict[str, int], what: str, line: Any, problems: _Problems) -> Translations:
    """The (language, field, text) translations ``raw`` gives for ``texts``; ``line(name)`` is a field's line."""
    found = []
    for language in OTHER_LANGUAGES:
        for name, limit in texts.items():
            field = f"{name}_{language}"
            if field not in raw:
                continue
            value = raw[field]
            if not isinstance(value, str) or not value.strip() or len(value) > limit:
                problems.add(line(field), f"{what}: {field} must be non-empty text of at most {limit:,} characters "
                                          f"(the {LANGUAGES[language]} of {name}), got {value!r}")
                continue
            found.append((language, name, value.strip()))
    return tuple(found)


def contrast_with_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of ``#rrggbb`` against white."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i:i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)
# Roles of the portal itself that must not read people's records through the catalog.
NOT_READERS = (EMPLOYEE, WORKS_COUNCIL)


class CatalogError(ValueError):
    """A catalog file that cannot be used; the message names the file, the line and the problem."""


@dataclass
class _Problems:
    path: Path
    text: str
    found: list[tuple[int, str]]

    def starts(self, header: str) -> list[int]:
        """Line numbers (from 1) of every ``[[header]]`` line."""
        pattern = re.compile(rf"^\s*\[\[\s*{re.escape(header)}\s*\]\]")
        return [i + 1 for i, line in enumerate(self.text.splitlines()) if pattern.match(line)]

    def line_of(self, header: str, index: int, name: str | None = None) -> int:
        """The line of field ``name`` in the ``index``-th ``[[header]]`` table (its header line if not found)."""
        starts = self.starts(header)
        if index >= len(starts):
            return 1
        start, lines = starts[index], self.text.splitlines()
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(lines)
        if name is not None:
            pattern = re.compile(rf"^\s*(\"?{re.escape(name)}\"?\s*=|\[\s*{re.escape(header)}\.{re.escape(name)}\s*\])")
            for number in range(start, end + 1):
                if pattern.match(lines[number - 1]):
                    return number
        return start

    def add(self, line: int, message: str) -> None:
        self.found.append((line, message))

    def raise_if_any(self) -> None:
        if not self.found:
            return
        listed = [f"{self.path} line {line}: {message}" for line, message in sorted(self.found)[:MAX_LISTED]]
        more = len(self.found) - len(listed)
        raise CatalogError("\n".join(listed) + (f"\n... and {more} more" if more > 0 else ""))


def load(path: Path) -> Catalog:
    """The catalog in ``path``, validated; :class:`CatalogError` names every problem with its line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise CatalogError(f"cannot read the catalog file {path}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise CatalogError(f"the catalog file {path} is larger than {MAX_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"the catalog file {path} is not UTF-8 text (byte {exc.start})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path}: not valid TOML: {exc}") from None
    return parse(document, _Problems(path, text, []))


def parse(document: dict[str, Any], problems: _Problems) -> Catalog:
    unknown = sorted(set(document) - {"version", "purposes", "categories"})
    for name in unknown:
        problems.add(1, f"unknown top-level field {name!r}; a catalog has version, [[purposes]] and [[categories]]")
    if document.get("version", 1) != 1:
        problems.add(1, f"version {document.get('version')!r} is not one this portal reads (1)")
    purposes = _purposes(document.get("purposes"), problems)
    known = {p.code for p in purposes}
    categories = []
    raw_categories = document.get("categories")
    if not isinstance(raw_categories, list) or not raw_categories:
        problems.add(1, "the catalog declares no [[categories]]")
        raw_categories = []
    for index, raw in enumerate(raw_categories):
        made = _category(raw, index, known, problems)
        if made is not None:
            categories.append(made)
    _unique(raw_categories, problems)
    _distinct_colours(raw_categories, categories, problems)
    problems.raise_if_any()
    return Catalog(tuple(purposes), tuple(_coloured(categories)), source=str(problems.path))


def _distinct_colours(raw: list[Any], categories: list[Category], problems: _Problems) -> None:
    """Two categories of one colour could not be told apart in a chart: refused, naming both."""
    seen: dict[str, str] = {}
    for category in categories:
        if not category.colour:
            continue
        if category.colour in seen:
            index = next((i for i, c in enumerate(raw) if isinstance(c, dict) and c.get("key") == category.key), 0)
            problems.add(problems.line_of("categories", index, "colour"),
                         f"category {category.key!r}: colour {category.colour!r} is already the colour of "
                         f"category {seen[category.colour]!r}; each category needs its own")
        seen.setdefault(category.colour, category.key)


def default_colour(key: str, taken: set[str]) -> str:
    """A colour of the palette for a category without one: chosen from its key (the same in every process),
    skipping colours other categories have while any is left."""
    start = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(PALETTE)
    for step in range(len(PALETTE)):
        candidate = PALETTE[(start + step) % len(PALETTE)]
        if candidate not in taken:
            return candidate
    return PALETTE[start]


def _coloured(categories: list[Category]) -> list[Category]:
    taken = {c.colour for c in categories if c.colour}
    coloured = []
    for category in categories:
        if not category.colour:
            colour = default_colour(category.key, taken)
            taken.add(colour)
            object.__setattr__(category, "colour", colour)  # just made here, not yet shared
        coloured.append(category)
    return coloured


def _purposes(raw: Any, problems: _Problems) -> list[Purpose]:
    if not isinstance(raw, list) or not raw:
        problems.add(1, "the catalog declares no [[purposes]]")
        return []
    found: list[Purpose] = []
    for index, entry in enumerate(raw):
        line = problems.line_of("purposes", index)
        if not isinstance(entry, dict):
            problems.add(line, "a purpose is a table with code, name and description")
            continue
        for name in sorted(set(entry) - {"code", "name", "description"} - translated_fields(PURPOSE_TEXTS)):
            problems.add(problems.line_of("purposes", index, name), f"unknown purpose field {name!r}")
        values: dict[str, Any] = {f: entry.get(f) for f in ("code", "name", "description")}
        bad = [f for f, v in values.items() if not isinstance(v, str) or not v.strip()]
        if bad:
            problems.add(line, f"the purpose needs {', '.join(bad)} (non-empty text)")
            continue
        if not _KEY.match(values["code"]):
            problems.add(problems.line_of("purposes", index, "code"),
                         f"purpose code {values['code']!r}: lower-case letters, digits, '.', '_', '-', at most 100")
            continue
        if any(p.code == values["code"] for p in found):
            problems.add(problems.line_of("purposes", index, "code"), f"purpose {values['code']!r} is declared twice")
            continue
        translations = _translations(entry, PURPOSE_TEXTS, f"purpose {values['code']!r}",
                                     lambda name, at=index: problems.line_of("purposes", at, name), problems)
        found.append(Purpose(values["code"], values["name"].strip(), values["description"].strip(), translations))
    return found


def _text(raw: dict, name: str, line: int, problems: _Problems, limit: int = 200) -> str | None:
    value = raw.get(name)
    if not isinstance(value, str) or not value.strip():
        problems.add(line, f"{name} must be non-empty text")
        return None
    if len(value) > limit:
        problems.add(line, f"{name} is longer than {limit} characters")
        return None
    return value.strip()


def _int(raw: dict, name: str, line: int, problems: _Problems, low: int, high: int) -> int | None:
    value = raw.get(name)
    if type(value) is not int or not low <= value <= high:
        problems.add(line, f"{name} must be a whole number from {low:,} to {high:,} (got {value!r})")
        return None
    return value


def _category(raw: Any, index: int, purposes: set[str], problems: _Problems) -> Category | None:
    def at(name: str | None = None) -> int:
        return problems.line_of("categories", index, name)

    if not isinstance(raw, dict):
        problems.add(at(), "a category is a table")
        return None
    before = len(problems.found)
    missing = [f for f in REQUIRED if f not in raw]
    if missing:
        problems.add(at(), f"the category lacks {', '.join(missing)}")
        return None
    allowed = set(REQUIRED) | set(OPTIONAL) | translated_fields(CATEGORY_TEXTS) | {
        f"legal_basis_by_purpose_{language}" for language in OTHER_LANGUAGES}
    for name in sorted(set(raw) - allowed):
        problems.add(at(name), f"unknown category field {name!r}; fields: {', '.join(sorted(allowed))}")
    key = _text(raw, "key", at("key"), problems, 100)
    if key is not None and not _KEY.match(key):
        problems.add(at("key"), f"key {key!r}: lower-case letters, digits, '.', '_', '-' (e.g. user.behavior.keystrokes)")
    name = _text(raw, "name", at("name"), problems)
    description = _text(raw, "description", at("description"), problems, 2000)
    table = _text(raw, "table", at("table"), problems, 63)
    if table is not None and not _NAME.match(table):
        problems.add(at("table"), f"table {table!r}: lower-case letters, digits and '_', starting with a letter")
    time_column = _text(raw, "time_column", at("time_column"), problems, 63)
    if time_column is not None and (not _NAME.match(time_column) or time_column in (SUBJECT_COLUMN, PARTITION_COLUMN)):
        problems.add(at("time_column"), f"time_column {time_column!r} is not a usable column name")
    kind = raw.get("kind", OPTIONAL["kind"])
    if kind not in KINDS:
        problems.add(at("kind"), f"kind {kind!r} is none of {', '.join(KINDS)}")
    source = raw.get("source_system", OPTIONAL["source_system"])
    if not isinstance(source, str) or len(source) > 200:
        problems.add(at("source_system"), "source_system must be text of at most 200 characters")
    columns = _columns(raw.get("columns"), time_column, at("columns"), problems)
    own = _purpose_list(raw.get("purposes"), purposes, at("purposes"), problems)
    basis = _basis(raw.get("legal_basis"), at("legal_basis"), problems)
    overrides = _overrides(raw.get("legal_basis_by_purpose", {}), own, at("legal_basis_by_purpose"), problems)
    retention = _int(raw, "retention_days", at("retention_days"), problems, 1, MAX_RETENTION_DAYS)
    erasable = raw.get("erasable")
    if type(erasable) is not bool:
        problems.add(at("erasable"), f"erasable must be true or false (got {erasable!r})")
    roles = _roles(raw.get("allowed_roles"), at("allowed_roles"), problems)
    limit = _int(raw, "max_principals", at("max_principals"), problems, 1, 100_000)
    scoped = _scoped(raw.get("scoped_roles", []), roles, index, problems)
    what = f"category {key or index + 1!r}"
    colour = _colour(raw.get("colour", ""), what, at("colour"), problems)
    translations = _translations(raw, CATEGORY_TEXTS, what, at, problems)
    translations += _overrides_translated(raw, overrides, what, at, problems)
    if len(problems.found) > before:
        return None
    return Category(
        key=key, name=name, description=description, kind=kind, table_name=table,  # type: ignore[arg-type]
        legal_basis=basis, retention_days=retention, source_system=source.strip(),  # type: ignore[arg-type]
        purposes=own, allowed_roles=roles, max_principals=limit, erasable=erasable,  # type: ignore[arg-type]
        columns=columns, purpose_bases=overrides, time_column=time_column, scoped_roles=scoped,  # type: ignore[arg-type]
        colour=colour, translations=translations,
    )


def _colour(raw: Any, what: str, line: int, problems: _Problems) -> str:
    """The category's colour, lower case; "" when the file gives none (the loader then chooses one)."""
    if raw == "":
        return ""
    if not isinstance(raw, str) or not _COLOUR.match(raw):
        problems.add(line, f"{what}: colour must be \"#rrggbb\" (six hexadecimal digits, e.g. \"#0072b2\"), got {raw!r}")
        return ""
    ratio = contrast_with_white(raw)
    if ratio < MIN_COLOUR_CONTRAST:
        problems.add(line, f"{what}: colour {raw!r} has a contrast of {ratio:.1f}:1 against the white page; "
                           f"charts need at least {MIN_COLOUR_CONTRAST:g}:1 (WCAG 1.4.11), so choose a darker one")
    return raw.lower()


def _overrides_translated(raw: dict, overrides: tuple[tuple[str, str], ...], what: str, at: Any,
                          problems: _Problems) -> Translations:
    """Translations of the bases in ``legal_basis_by_purpose``: ``legal_basis_by_purpose_de`` names the same purposes."""
    found = []
    for language in OTHER_LANGUAGES:
        field = f"legal_basis_by_purpose_{language}"
        table = raw.get(field, {})
        if not isinstance(table, dict):
            problems.add(at(field), f"{what}: {field} must be a table of purpose code = legal basis")
            continue
        for code, text in table.items():
            if code not in dict(overrides):
                problems.add(at(field), f"{what}: {field} names {code!r}, which legal_basis_by_purpose does not")
            elif not isinstance(text, str) or not text.strip() or len(text) > 200:
                problems.add(at(field), f"{what}: {field} {code!r} must be non-empty text of at most 200 characters")
            else:
                found.append((language, f"legal_basis_by_purpose.{code}", text.strip()))
    return tuple(found)


def _columns(raw: Any, time_column: str | None, line: int, problems: _Problems) -> tuple[Column, ...]:
    if not isinstance(raw, dict) or not raw:
        problems.add(line, "columns must be a table of name = type (string, int16, int32, int64, float64, bool, "
                           "timestamp), or name = { type = ..., label = ..., meaning = ... }")
        return ()
    found = []
    for name, spec in raw.items():
        if not _NAME.match(name) or name in (SUBJECT_COLUMN, PARTITION_COLUMN, time_column):
            problems.add(line, f"column {name!r}: a lower-case name not subject_id, bucket or the time column")
            continue
        if isinstance(spec, str):
            spec = {"type": spec}
        if not isinstance(spec, dict) or set(spec) - {"type", "label", "meaning"} - translated_fields(COLUMN_TEXTS):
            problems.add(line, f"column {name!r}: a type, or a table with type, label and meaning"
                               f" (and their translations: {', '.join(sorted(translated_fields(COLUMN_TEXTS)))})")
            continue
        kind, label, meaning = spec.get("type"), spec.get("label", name.replace("_", " ").capitalize()), spec.get(
            "meaning", "")
        if kind not in COLUMN_TYPES:
            problems.add(line, f"column {name!r}: type {kind!r} is none of {', '.join(COLUMN_TYPES)}")
            continue
        if not isinstance(label, str) or not isinstance(meaning, str) or len(label) > 100 or len(meaning) > 500:
            problems.add(line, f"column {name!r}: label (at most 100) and meaning (at most 500) are text")
            continue
        translations = _translations(spec, COLUMN_TEXTS, f"column {name!r}", lambda _field: line, problems)
        found.append(Column(name, kind, label.strip() or name, meaning.strip(), translations))
    return tuple(found)


def _purpose_list(raw: Any, known: set[str], line: int, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
        problems.add(line, "purposes must be a non-empty list of purpose codes")
        return ()
    unknown = [p for p in raw if p not in known]
    if unknown:
        problems.add(line, f"purpose(s) {', '.join(map(repr, unknown))} are not declared in [[purposes]]")
    if len(set(raw)) != len(raw):
        problems.add(line, "a purpose is listed twice")
    return tuple(raw)


def _basis(raw: Any, line: int, problems: _Problems) -> str | None:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
        problems.add(line, "a legal basis must be non-empty text of at most 200 characters")
        return None
    if basis_ground(raw) is None:
        grounds = ", ".join(f"6(1)({k}) {v[0]}" for k, v in BASES.items())
        problems.add(line, f"legal basis {raw!r} names none of GDPR Art. {grounds} "
                           "(write e.g. \"GDPR Art. 6(1)(f) legitimate interests\")")
        return None
    return raw.strip()


def _overrides(raw: Any, purposes: tuple[str, ...], line: int, problems: _Problems) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        problems.add(line, "legal_basis_by_purpose must be a table of purpose code = legal basis")
        return ()
    found = []
    for code, basis in raw.items():
        if code not in purposes:
            problems.add(line, f"legal_basis_by_purpose names {code!r}, which is not one of this category's purposes")
            continue
        checked = _basis(basis, line, problems)
        if checked is not None:
            found.append((code, checked))
    return tuple(found)


def _roles(raw: Any, line: int, problems: _Problems) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) and _ROLE.match(r) for r in raw):
        problems.add(line, "allowed_roles must be a non-empty list of role names (letters, digits, '_', '-', '.', ':')")
        return ()
    barred = [r for r in raw if r in NOT_READERS]
    if barred:
        problems.add(line, f"allowed_roles may not name {', '.join(barred)}: the portal's employees and works council "
                           "never read a person's records")
    return tuple(raw)


def _scoped(raw: Any, roles: tuple[str, ...], index: int, problems: _Problems) -> tuple[ScopedRole, ...]:
    line = problems.line_of("categories", index, "scoped_roles")
    if not isinstance(raw, list):
        problems.add(line, "scoped_roles must be a list of tables ([[categories.scoped_roles]])")
        return ()
    found = []
    for entry in raw:
        if not isinstance(entry, dict) or any(f not in entry for f in SCOPED_FIELDS):
            problems.add(line, f"a scoped role needs {', '.join(SCOPED_FIELDS)}")
            continue
        role, relation = entry["role"], entry["relation"]
        counts = [entry["readers_per_person"], entry["people_per_reader"]]
        manager = entry.get("directory_manager", False)
        if role not in roles:
            problems.add(line, f"scoped role {role!r} is not in this category's allowed_roles")
        elif not isinstance(relation, str) or not relation.strip() or type(manager) is not bool:
            problems.add(line, f"scoped role {role!r}: relation is text, directory_manager true or false")
        elif not all(type(c) is int and 1 <= c <= 10_000 for c in counts):
            problems.add(line, f"scoped role {role!r}: readers_per_person and people_per_reader are 1 to 10,000")
        else:
            translations = _translations(entry, SCOPED_TEXTS, f"scoped role {role!r}", lambda _field: line, problems)
            found.append(ScopedRole(role, relation.strip(), counts[0], counts[1], directory_manager=manager,
                                    translations=translations))
    return tuple(found)


def _unique(categories: list[Any], problems: _Problems) -> None:
    for what in ("key", "table"):
        seen: dict[str, int] = {}
        for index, c in enumerate(categories):
            value = c.get(what) if isinstance(c, dict) else None
            if not isinstance(value, str):
                continue
            if value in seen:
                problems.add(problems.line_of("categories", index, what),
                             f"{what} {value!r} is declared by two categories")
            seen[value] = index


# ---- writing -----------------------------------------------------------------------------


def as_document(current: Catalog) -> dict[str, Any]:
    """The catalog as plain data, in the file's shape (every optional field written out)."""
    return {
        "version": 1,
        "purposes": [{"code": p.code, "name": english(p, "name"), "description": english(p, "description"),
                      **_translations_document(p.translations)} for p in current.purposes],
        "categories": [_category_document(c) for c in current.categories],
    }


def _translations_document(translations: Translations) -> dict[str, str]:
    """``name_de = ...`` fields of the translations of plain text fields."""
    return {f"{name}_{language}": text for language, name, text in translations if "." not in name}


def _category_document(c: Category) -> dict[str, Any]:
    by_purpose = {language: {name.split(".", 1)[1]: text for lang, name, text in c.translations
                             if lang == language and name.startswith("legal_basis_by_purpose.")}
                  for language in OTHER_LANGUAGES}
    return {
        "key": c.key, "name": english(c, "name"), "description": english(c, "description"), "kind": c.kind,
        "table": c.table_name, "time_column": c.time_column, "source_system": c.source_system, "colour": c.colour,
        "purposes": list(c.purposes), "legal_basis": english(c, "legal_basis"),
        "legal_basis_by_purpose": dict(c.purpose_bases),
        **{f"legal_basis_by_purpose_{language}": table for language, table in by_purpose.items() if table},
        "objectionable_purposes": list(c.objectionable_purposes), "retention_days": c.retention_days,
        "erasable": c.erasable, "allowed_roles": list(c.allowed_roles), "max_principals": c.max_principals,
        **_translations_document(c.translations),
        "columns": {col.name: {"type": col.type, "label": english(col, "label"), "meaning": english(col, "meaning"),
                               **_translations_document(col.translations)} for col in c.columns},
        "scoped_roles": [{"role": s.role, "relation": english(s, "relation"), "readers_per_person": s.readers_per_person,
                          "people_per_reader": s.people_per_reader, "directory_manager": s.directory_manager,
                          **_translations_document(s.translations)}
                         for s in c.scoped_roles],
    }


def to_json(current: Catalog) -> str:
    return json.dumps(as_document(current), indent=2, ensure_ascii=False) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_value(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def to_toml(current: Catalog) -> str:
    """The effective catalog as a TOML file that :func:`load` reads back to the same catalog."""
    document = as_document(current)
    out = [f"# The effective telemetry catalog, read from {current.source}", "version = 1", ""]
    for p in document["purposes"]:
        out += ["[[purposes]]"] + [f"{k} = {_value(v)}" for k, v in p.items()] + [""]
    for c in document["categories"]:
        out.append("[[categories]]")
        for k, v in c.items():
            if k in ("columns", "scoped_roles") or k.startswith("legal_basis_by_purpose"):
                continue
            if k == "objectionable_purposes":
                out.append(f"# open to objection: {', '.join(v) or 'none'}")
                continue
            out.append(f"{k} = {_value(v)}")
        for k, v in c.items():
            if k.startswith("legal_basis_by_purpose"):
                out += ["", f"[categories.{k}]"] + [f"{_value(code)} = {_value(text)}" for code, text in v.items()]
        out += ["", "[categories.columns]"] + [f"{k} = {_value(v)}" for k, v in c["columns"].items()]
        for s in c["scoped_roles"]:
            out += ["", "[[categories.scoped_roles]]"] + [f"{k} = {_value(v)}" for k, v in s.items()]
        out.append("")
    return "\n".join(out)
