"""The limits of the exposure policy: how many may read each telemetry category, and who is counted apart.

The model is explained in :mod:`portal.council.exposure`. This module holds the limits
so that the exposure page and the flags on a person's own access log
(:mod:`portal.audit.access_events`) apply the same ones:

* ``max_principals`` per category, from the catalog, or the company's own
  figure from the setting ``PORTAL_MAX_PRINCIPALS`` (:func:`parse_max_principals`
  validates it; categories are named by their catalog key or its last part,
  e.g. ``performance`` for ``user.workplace.performance``);
* the category's scoped roles (:class:`portal.core.catalog.ScopedRole`), whose readers
  are never counted against ``max_principals`` but checked per person and per
  reader instead (:func:`scoped_breadth`).

Roles and group names are compared ignoring case and ``-`` versus ``_``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from portal.core import catalog
from portal.core.i18n import _

SETTING = "PORTAL_MAX_PRINCIPALS"
EXAMPLE = '{"performance": 80}'


def norm_role(role: str | None) -> str:
    """A role or group name as compared: ``privacy_office`` and ``Privacy-Office`` are the same."""
    return (role or "").strip().lower().replace("_", "-")


def short_name(key: str) -> str:
    """The last part of a catalog key, e.g. ``performance`` for ``user.workplace.performance``."""
    return key.rsplit(".", 1)[-1]


def _by_name() -> dict[str, str]:
    """Each category's key and the last part of it, to its key (the active catalog's)."""
    cats = catalog.CATEGORIES
    return {**{short_name(c.key): c.key for c in cats}, **{c.key: c.key for c in cats}}


@dataclass(frozen=True)
class Limit:
    """How broadly one category may be read."""

    category_key: str
    max_principals: int  # the limit in force
    catalog_max: int  # the catalog's own figure
    set_by_company: bool
    scoped: tuple[catalog.ScopedRole, ...]

    def scoped_role(self, role: str | None) -> catalog.ScopedRole | None:
        """The scope of ``role`` in this category, or None when the role's readers are counted."""
        wanted = norm_role(role)
        return next((s for s in self.scoped if norm_role(s.role) == wanted), None)

    @property
    def scoped_roles(self) -> frozenset[str]:
        """The scoped roles, normalised (:func:`norm_role`)."""
        return frozenset(norm_role(s.role) for s in self.scoped)

    @property
    def set_by(self) -> str:
        """Who set the limit, as the exposure command's JSON writes it (pages translate it where shown)."""
        return f"company (catalog: {self.catalog_max})" if self.set_by_company else "catalog"


def _known() -> str:
    return ", ".join(f"{short_name(c.key)} ({c.key})" for c in catalog.CATEGORIES)


def parse_max_principals(value: object) -> dict[str, int]:
    """A company's limits as ``{catalog key: limit}``, from a mapping (or its JSON text) of category to a
    whole number of at least 1. A category is named by its catalog key or the key's last part.

    Raises ValueError naming the category or value that is wrong.
    """
    if value is None or value == "":
        return {}
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(_("must be a JSON object of category to limit, e.g. {example}").format(
                example=EXAMPLE)) from None
    if not isinstance(value, Mapping):
        raise ValueError(_("must be a JSON object of category to limit, e.g. {example}; got {kind} {value}").format(
            example=EXAMPLE, kind=type(value).__name__, value=repr(value)))
    out: dict[str, int] = {}
    by_name = _by_name()
    for name, limit in value.items():
        key = by_name.get(name) if isinstance(name, str) else None
        if key is None:
            raise ValueError(_("unknown category {name}; known categories: {known}").format(
                name=repr(name), known=_known()))
        if key in out:
            raise ValueError(_("category {name} is given twice (as {short} and as {key})").format(
                name=repr(name), short=short_name(key), key=key))
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise ValueError(_("the limit for {name} must be a whole number of at least 1, got {limit}").format(
                name=repr(name), limit=repr(limit)))
        if limit < 1:
            raise ValueError(_("the limit for {name} must be at least 1, got {limit}").format(
                name=repr(name), limit=limit))
        out[key] = limit
    return out


def limits(max_principals: Mapping[str, int] | None = None) -> dict[str, Limit]:
    """The limit of every catalog category, with the company's figures (``PORTAL_MAX_PRINCIPALS``) applied."""
    overrides = parse_max_principals(dict(max_principals or {}))
    return {c.key: Limit(c.key, overrides.get(c.key, c.max_principals), c.max_principals, c.key in overrides,
                         c.scoped_roles)
            for c in catalog.CATEGORIES}


# ---- scoped roles: reads checked against their scope -------------------------------


def role_sql(column: sa.ColumnElement) -> sa.ColumnElement:
    """:func:`norm_role` in SQL (SQLite and PostgreSQL)."""
    return sa.func.lower(sa.func.replace(sa.func.trim(column), "_", "-"))


def scoped_condition(limits: Mapping[str, Limit], category: sa.ColumnElement,
                     role: sa.ColumnElement) -> sa.ColumnElement | None:
    """SQL: the row's category has scoped roles and the row's role is one of them; None if no category has any."""
    parts = [sa.and_(category == key, role_sql(role).in_(sorted(limit.scoped_roles)))
             for key, limit in limits.items() if limit.scoped]
    return sa.or_(*parts) if parts else None


# keys typed Any so that DataFrame.cast accepts the mapping
SCOPED_SCHEMA: Mapping[Any, pl.DataType | type[pl.DataType]] = {
    "category": pl.String, "role": pl.String, "week": pl.Date, "readers": pl.Int64,
    "most_people": pl.Int64, "readers_over": pl.Int64, "most_readers": pl.Int64,
    "people_per_reader": pl.Int64, "readers_per_person": pl.Int64}


def scoped_breadth(reads: pl.DataFrame, limits: Mapping[str, Limit]) -> pl.DataFrame:
    """Per category, scoped role and week: how far reads in the role reached.

    ``reads`` holds one row per read of someone else's data by a person in a scoped role, with
    columns category, role, week, actor, subject. The result (:data:`SCOPED_SCHEMA`) has, per
    category x role x week: ``readers`` in the role, ``most_people`` one of them read, ``readers_over``
    how many read more people than ``people_per_reader``, and ``most_readers`` in the role of one
    person (to compare with ``readers_per_person``).
    """
    scopes = [(key, norm_role(s.role), s.people_per_reader, s.readers_per_person)
              for key, limit in limits.items() for s in limit.scoped]
    if reads.is_empty() or not scopes:
        return pl.DataFrame(schema=SCOPED_SCHEMA)
    allowed = pl.DataFrame(scopes, schema={"category": pl.String, "role": pl.String, "people_per_reader": pl.Int64,
                                           "readers_per_person": pl.Int64}, orient="row")
    rows = (reads.with_columns(pl.col("role").fill_null("").str.strip_chars().str.to_lowercase()
                               .str.replace_all("_", "-"))
            .join(allowed, on=["category", "role"], how="inner"))
    keys = ["category", "role", "week"]
    per_reader = rows.group_by(*keys, "actor", "people_per_reader").agg(pl.col("subject").n_unique().alias("people"))
    per_person = rows.group_by(*keys, "subject").agg(pl.col("actor").n_unique().alias("readers"))
    readers = (per_reader.group_by(*keys, "people_per_reader")
               .agg(pl.len().cast(pl.Int64).alias("readers"), pl.col("people").max().alias("most_people"),
                    (pl.col("people") > pl.col("people_per_reader")).sum().cast(pl.Int64).alias("readers_over")))
    people = per_person.group_by(*keys).agg(pl.col("readers").max().alias("most_readers"))
    return (readers.join(people, on=keys).join(allowed.drop("people_per_reader"), on=["category", "role"])
            .select(list(SCOPED_SCHEMA)).cast(SCOPED_SCHEMA).sort(keys))
