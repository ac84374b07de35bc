"""The catalog's model: purposes, categories, their columns and legal bases (read by :mod:`portal.core.catalog_file`,
put in force by :mod:`portal.core.catalog`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

DEFAULT_FILE = Path(__file__).with_name("catalog.toml")
SUBJECT_COLUMN = "subject_id"
PARTITION_COLUMN = "bucket"
UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")
# The column types a catalog may declare, and how the lake stores each.
COLUMN_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(), "int16": pa.int16(), "int32": pa.int32(), "int64": pa.int64(),
    "float64": pa.float64(), "bool": pa.bool_(), "timestamp": UTC_TIMESTAMP,
}
KINDS = ("activity", "content", "record")

# The six grounds of GDPR Art. 6(1), recognised in a basis's text by its letter or its words.
BASES = {
    "a": ("consent", True), "b": ("contract", False), "c": ("legal obligation", False),
    "d": ("vital interests", False), "e": ("public task", True), "f": ("legitimate interests", True),
}
_LETTER = re.compile(r"6\s*\(\s*1\s*\)\s*\(?\s*([a-f])\s*\)", re.IGNORECASE)
_WORDS = {"consent": "a", "contract": "b", "legal obligation": "c", "vital interest": "d", "public task": "e",
          "public interest": "e", "legitimate interest": "f"}

# Labels of the columns every table has.
BASE_LABELS = {SUBJECT_COLUMN: "Employee id", "ts": "When (UTC)"}
BASE_MEANINGS = {SUBJECT_COLUMN: "Your employee id: whom the record is about."}
TIME_MEANING = "When the record was made (UTC); for windowed activity, the start of the window."


def basis_ground(text: str) -> str | None:
    """The Art. 6(1) letter a basis's text names (``"GDPR Art. 6(1)(f) legitimate interests"`` -> ``"f"``)."""
    found = _LETTER.search(text)
    if found:
        return found.group(1).lower()
    lowered = text.lower()
    for words, letter in _WORDS.items():
        if words in lowered:
            return letter
    return None


def objectionable_basis(text: str) -> bool:
    """Whether a person may object to (or withdraw from) processing on this basis."""
    ground = basis_ground(text)
    return ground is not None and BASES[ground][1]


@dataclass(frozen=True)
class Purpose:
    code: str
    name: str
    description: str


@dataclass(frozen=True)
class ScopedRole:
    """A role whose members may read only the records of people they have a working relationship with
    (a line manager: their direct reports). The source system enforces the scope; the exposure policy
    (:mod:`portal.core.exposure_policy`) counts such readers apart from the category's ``max_principals`` and
    checks, from what was actually read, that the reads look like that relationship."""

    role: str
    relation: str  # whose records, in words: "their direct reports"
    readers_per_person: int  # at most this many readers in the role read one person's records in a week
    people_per_reader: int  # one reader reads the records of at most this many people in a week
    # True when the relationship is the directory's line manager: a reader the company's directory does not
    # name as the person's manager is then flagged on that person's own view of their reads.
    directory_manager: bool = False


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of COLUMN_TYPES
    label: str
    meaning: str


@dataclass(frozen=True)
class Category:
    key: str
    name: str
    description: str
    kind: str  # activity | content | record
    table_name: str
    legal_basis: str  # the default for every purpose not in purpose_bases
    retention_days: int
    source_system: str
    purposes: tuple[str, ...]
    allowed_roles: tuple[str, ...]
    max_principals: int  # principals outside scoped roles; a company may set its own (PORTAL_MAX_PRINCIPALS)
    erasable: bool = True  # False: kept (e.g. under the employment contract) and outside erasure on request
    columns: tuple[Column, ...] = ()
    purpose_bases: tuple[tuple[str, str], ...] = ()  # (purpose code, legal basis) overriding legal_basis
    time_column: str = "ts"
    scoped_roles: tuple[ScopedRole, ...] = ()  # allowed roles limited to their own people, counted apart
    subject_column: str = SUBJECT_COLUMN

    @property
    def has_content(self) -> bool:
        return self.kind == "content"

    def legal_basis_for(self, purpose: str) -> str:
        return dict(self.purpose_bases).get(purpose, self.legal_basis)

    @property
    def objectionable_purposes(self) -> tuple[str, ...]:
        """The purposes of this category a person may object to (GDPR Art. 21; consent: withdrawn)."""
        return tuple(p for p in self.purposes if objectionable_basis(self.legal_basis_for(p)))

    @property
    def objection_possible(self) -> bool:
        return bool(self.objectionable_purposes)

    @property
    def schema(self) -> pa.Schema:
        """The Delta table's Arrow schema: subject, partition, time, then the declared columns."""
        return pa.schema([(self.subject_column, pa.string()), (PARTITION_COLUMN, pa.int32()),
                          (self.time_column, UTC_TIMESTAMP)]
                         + [(c.name, COLUMN_TYPES[c.type]) for c in self.columns])

    def label(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.label
        return "When (UTC)" if column == self.time_column else BASE_LABELS.get(column, column)

    def meaning(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.meaning or c.label
        return TIME_MEANING if column == self.time_column else BASE_MEANINGS.get(column, column)


@dataclass(frozen=True)
class Catalog:
    purposes: tuple[Purpose, ...]
    categories: tuple[Category, ...]
    source: str = str(DEFAULT_FILE)  # the file it was read from

    @cached_property
    def names(self) -> dict[str, Any]:
        """The module-level names this catalog gives (see the module docstring)."""
        cats = self.categories
        labels: dict[str, str] = {}
        meanings: dict[str, str] = dict(BASE_MEANINGS)
        for c in cats:
            labels.setdefault(c.time_column, "When (UTC)")
            meanings.setdefault(c.time_column, TIME_MEANING)
            for col in c.columns:
                labels.setdefault(col.name, col.label)
                meanings.setdefault(col.name, col.meaning or col.label)
        return {
            "CATEGORIES": cats, "PURPOSES": self.purposes,
            "CATEGORY_BY_KEY": {c.key: c for c in cats}, "CATEGORY_BY_TABLE": {c.table_name: c for c in cats},
            "PURPOSE_BY_CODE": {p.code: p for p in self.purposes},
            # The longest any category is kept: the portal's retention horizon, beyond which it accepts no event.
            "LONGEST_RETENTION_DAYS": max(c.retention_days for c in cats),
            "TABLE_SCHEMAS": {c.table_name: c.schema for c in cats},
            "COLUMN_LABELS": labels, "COLUMN_MEANINGS": meanings,
        }


