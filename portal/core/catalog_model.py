"""The catalog's model: purposes, categories, their columns and legal bases (read by :mod:`portal.core.catalog_file`,
put in force by :mod:`portal.core.catalog`).

The catalog's texts are data, written by the company in its catalog file, so they are not in the gettext
catalogs: each text field holds its English and, in ``translations``, the same text in other languages
(``name_de`` in the file). Reading such a field (``category.name``, ``purpose.description``, ``column.label``,
``category.legal_basis_for(p)``) gives the text in the language in use (:func:`portal.core.i18n.language`),
the English where no translation is given. :func:`english` reads the English whatever the language: what is
stored, compared or parsed (the legal ground of a basis) is always the English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pyarrow as pa

from portal.core import i18n

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

# Labels of the columns every table has (English; the other languages in BASE_TEXTS).
BASE_LABELS = {SUBJECT_COLUMN: "Employee id", "ts": "When (UTC)"}
BASE_MEANINGS = {SUBJECT_COLUMN: "Your employee id: whom the record is about."}
TIME_MEANING = "When the record was made (UTC); for windowed activity, the start of the window."
TIME_LABEL = "When (UTC)"
#: The texts above in the portal's other languages, keyed by the English.
BASE_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "Employee id": "Personalnummer",
        "When (UTC)": "Zeitpunkt (UTC)",
        "Your employee id: whom the record is about.": "Ihre Personalnummer: wen der Eintrag betrifft.",
        TIME_MEANING: "Wann der Eintrag entstand (UTC); bei Aktivität je Zeitfenster der Beginn des Fensters.",
    },
}
#: Category colours when the catalog gives none: each at least 3:1 against a white page (WCAG 1.4.11),
#: distinguishable with the common colour-vision deficiencies (after Okabe and Ito).
PALETTE = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#b8860b", "#7b4ea3", "#8c564b", "#5e6a71", "#a23b72",
           "#00796b")
Translations = tuple[tuple[str, str, str], ...]  # (language, field, text)


def base_text(english_text: str) -> str:
    """One of the base columns' texts in the language in use."""
    return BASE_TEXTS.get(i18n.language(), {}).get(english_text, english_text)


class Localised:
    """A text field of the catalog read in the language in use.

    The dataclass field keeps the English (the value given to the constructor); the instance's
    ``translations`` hold (language, field, text) for the other languages. Put on a dataclass after it is
    made (:func:`localised`), so the field stays an ordinary required field.
    """

    def __init__(self, field: str) -> None:
        self.field = field
        self.slot = f"_{field}_en"

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return translated(obj, self.field, obj.__dict__[self.slot])

    def __set__(self, obj: Any, value: str) -> None:
        obj.__dict__[self.slot] = value


def localised(cls: type, *fields: str) -> None:
    """Make ``fields`` of the dataclass ``cls`` read in the language in use."""
    for field in fields:
        setattr(cls, field, Localised(field))


def translated(obj: Any, field: str, english_text: str) -> str:
    """``field`` of ``obj`` in the language in use, ``english_text`` when it has no translation."""
    language = i18n.language()
    if language == i18n.DEFAULT_LANGUAGE:
        return english_text
    for lang, name, text in obj.translations:
        if lang == language and name == field:
            return text
    return english_text


def english(obj: Any, field: str) -> str:
    """The English of a text field of a purpose, category, column or scoped role, whatever the language."""
    return obj.__dict__[f"_{field}_en"]


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
    translations: Translations = ()


localised(Purpose, "name", "description")


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
    translations: Translations = ()


localised(ScopedRole, "relation")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a key of COLUMN_TYPES
    label: str
    meaning: str
    translations: Translations = ()


localised(Column, "label", "meaning")


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
    colour: str = ""  # "#rrggbb"; the catalog file's, or one of PALETTE chosen by the loader
    # (language, field, text); a purpose's own basis is the field "legal_basis_by_purpose.<code>"
    translations: Translations = ()

    @property
    def has_content(self) -> bool:
        return self.kind == "content"

    def english_basis_for(self, purpose: str) -> str:
        """The legal basis of ``purpose`` in English: the text its ground is read from."""
        return dict(self.purpose_bases).get(purpose, english(self, "legal_basis"))

    def legal_basis_for(self, purpose: str) -> str:
        """The legal basis of ``purpose``, in the language in use."""
        own = dict(self.purpose_bases).get(purpose)
        if own is None:
            return self.legal_basis
        return translated(self, f"legal_basis_by_purpose.{purpose}", own)

    @property
    def objectionable_purposes(self) -> tuple[str, ...]:
        """The purposes of this category a person may object to (GDPR Art. 21; consent: withdrawn)."""
        return tuple(p for p in self.purposes if objectionable_basis(self.english_basis_for(p)))

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
        if column == self.time_column:
            return base_text(TIME_LABEL)
        return base_text(BASE_LABELS[column]) if column in BASE_LABELS else column

    def meaning(self, column: str) -> str:
        for c in self.columns:
            if c.name == column:
                return c.meaning or c.label
        if column == self.time_column:
            return base_text(TIME_MEANING)
        return base_text(BASE_MEANINGS[column]) if column in BASE_MEANINGS else column


localised(Category, "name", "description", "legal_basis")


@dataclass(frozen=True)
class Catalog:
    purposes: tuple[Purpose, ...]
    categories: tuple[Category, ...]
    source: str = str(DEFAULT_FILE)  # the file it was read from

    def column_labels(self) -> dict[str, str]:
        """Column name -> label, in the language in use (not cached: the language changes from run to run)."""
        labels: dict[str, str] = {}
        for c in self.categories:
            labels.setdefault(c.time_column, base_text(TIME_LABEL))
            for col in c.columns:
                labels.setdefault(col.name, col.label)
        return labels

    def column_meanings(self) -> dict[str, str]:
        """Column name -> what it means, in the language in use."""
        meanings = {name: base_text(text) for name, text in BASE_MEANINGS.items()}
        for c in self.categories:
            meanings.setdefault(c.time_column, base_text(TIME_MEANING))
            for col in c.columns:
                meanings.setdefault(col.name, col.meaning or col.label)
        return meanings

    def colours(self) -> dict[str, str]:
        """Category key -> its colour (``#rrggbb``), the same for every person and every chart."""
        return {c.key: c.colour for c in self.categories}

    @cached_property
    def names(self) -> dict[str, Any]:
        """The module-level names this catalog gives (see the module docstring); texts shown to people are
        not among them (they depend on the language): COLUMN_LABELS and COLUMN_MEANINGS are read per use."""
        cats = self.categories
        return {
            "CATEGORIES": cats, "PURPOSES": self.purposes,
            "CATEGORY_BY_KEY": {c.key: c for c in cats}, "CATEGORY_BY_TABLE": {c.table_name: c for c in cats},
            "PURPOSE_BY_CODE": {p.code: p for p in self.purposes},
            # The longest any category is kept: the portal's retention horizon, beyond which it accepts no event.
            "LONGEST_RETENTION_DAYS": max(c.retention_days for c in cats),
            "TABLE_SCHEMAS": {c.table_name: c.schema for c in cats},
        }


