"""The tables of a person's copy besides the telemetry: reads, requests, objections, datasets, models.

Each table keys its rows by stable codes (category key, purpose code, action, actor kind, request status,
flag code) and puts the label a person reads beside each code, so that a program joins on the code and a
person reads the label. Every column has a meaning (:func:`meaning`), which the copy's manifest lists
with the column's type for every file.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from portal.audit import my_access
from portal.core import catalog
from portal.core.i18n import N_, _
from portal.lineage import my_lineage
from portal.privacy import optout, privacy_requests, request_views
from portal.privacy.request_states import STATUS_WORDS, SUBJECT

FLAG_CODES = {my_access.NO_PURPOSE: "no_purpose", my_access.ROLE_NOT_ALLOWED: "role_not_allowed",
              my_access.OVER_EXPOSURE: "over_exposure"}
_UTC = pl.Datetime("us", "UTC")

# file stem -> column -> (type, meaning)
TABLES: dict[str, dict[str, tuple[pl.DataType | type[pl.DataType], str]]] = {
    "access_events": {
        "event_id": (pl.String, N_("The read's id in the company's access log.")),
        "occurred_at": (_UTC, N_("When your data was read (UTC).")),
        "category_key": (pl.String, N_("The category read, as its catalog key (see manifest.json, categories).")),
        "category": (pl.String, N_("The category's name.")),
        "action": (pl.String, N_("What was done: view, query, export, train or delete.")),
        "record_count": (pl.Int64, N_("How many of your records were read.")),
        "purpose_code": (pl.String, N_("The registered purpose the reader gave, as its code; empty when none was given.")),
        "purpose": (pl.String, N_("The purpose's name, or \"none given\".")),
        "justification": (pl.String, N_("The reader's own words for why, if any.")),
        "actor_kind": (pl.String, N_("Who read: person or service.")),
        "actor": (pl.String, N_("The reader, named as the company names readers to you (a name, or team and role).")),
        "actor_team": (pl.String, N_("The reader's team.")),
        "actor_role": (pl.String, N_("The reader's role, as the access policy knows it.")),
        "source_system": (pl.String, N_("The system in which the read happened.")),
        "query_id": (pl.String, N_("The reader's query or run id, if recorded.")),
        "flag_codes": (pl.String, N_("Why the read was flagged, as codes separated by commas: no_purpose, "
                                     "role_not_allowed, over_exposure; empty when it was not flagged.")),
        "flags": (pl.String, N_("The same flags as short labels.")),
        "flagged_because": (pl.String, N_("Why the read was flagged, in full sentences.")),
    },
    "privacy_requests": {
        "request_id": (pl.String, N_("The request's id.")),
        "kind": (pl.String, N_("erasure, objection or access (a copy).")),
        "kind_words": (pl.String, N_("The kind in words.")),
        "scope_words": (pl.String, N_("What the request covers, in words.")),
        "category_keys": (pl.String, N_("The categories named, as catalog keys separated by commas; empty: all.")),
        "purpose_code": (pl.String, N_("For an objection to a purpose: the purpose's code.")),
        "purpose": (pl.String, N_("The purpose's name.")),
        "channel": (pl.String, N_("How it was received: portal, email or letter.")),
        "details": (pl.String, N_("What you wrote with the request, if anything.")),
        "received_at": (_UTC, N_("When it was received (UTC).")),
        "deadline": (pl.Date, N_("The deadline under GDPR Art. 12(3).")),
        "extended_deadline": (pl.Date, N_("The extended deadline, if the privacy office extended it.")),
        "extension_reason": (pl.String, N_("The privacy office's reason for the extension.")),
        "status": (pl.String, N_("submitted, in_review, approved, executing, completed, rejected or withdrawn.")),
        "status_words": (pl.String, N_("The status in words.")),
        "decision_reason": (pl.String, N_("The privacy office's reason for approving or rejecting it.")),
        "updated_at": (_UTC, N_("When its status last changed (UTC).")),
    },
    "request_history": {
        "request_id": (pl.String, N_("The request (see privacy_requests).")),
        "at": (_UTC, N_("When it happened (UTC).")),
        "event": (pl.String, N_("filed, transition (a change of status) or extended (of the deadline).")),
        "from_status": (pl.String, N_("The status before, as a code; empty when the request was filed.")),
        "to_status": (pl.String, N_("The status after, as a code.")),
        "what_happened": (pl.String, N_("What happened, in words.")),
        "by_role": (pl.String, N_("Who acted: subject (you), privacy_office or executor (the portal itself).")),
        "by": (pl.String, N_("Who acted, in words; people appear only by role.")),
        "reason": (pl.String, N_("The reason recorded with it.")),
    },
    "objections": {
        "objection_id": (pl.String, N_("The objection's id.")),
        "request_id": (pl.String, N_("The objection request that recorded it (see privacy_requests).")),
        "purpose_code": (pl.String, N_("The purpose objected to, as its code; empty for an objection to a category.")),
        "purpose": (pl.String, N_("The purpose's name.")),
        "category_key": (pl.String, N_("The category objected to, as its catalog key; empty for a purpose.")),
        "category": (pl.String, N_("The category's name.")),
        "effective_at": (_UTC, N_("Since when it applies (UTC): datasets built after it leave you out.")),
        "in_words": (pl.String, N_("The objection in words.")),
    },
    "dataset_memberships": {
        "dataset": (pl.String, N_("The training dataset's name.")),
        "version": (pl.String, N_("The dataset's version.")),
        "created_at": (_UTC, N_("When that version was built (UTC).")),
        "purpose_code": (pl.String, N_("The purpose it was built for, as its code.")),
        "purpose": (pl.String, N_("The purpose's name.")),
        "owner": (pl.String, N_("The team that owns the dataset.")),
        "status": (pl.String, N_("The dataset's status as a code, e.g. active, rebuild_pending, rebuild_required.")),
        "status_words": (pl.String, N_("The status in words.")),
        "category_key": (pl.String, N_("The category of your records in it, as its catalog key.")),
        "category": (pl.String, N_("The category's name.")),
        "your_records": (pl.Int64, N_("How many of your records of that category it holds.")),
        "models_trained_on_it": (pl.String, N_("Models trained on it, as \"name version\" separated by commas.")),
    },
    "models": {
        "model": (pl.String, N_("The model's name.")),
        "version": (pl.String, N_("The model's version.")),
        "trained_at": (_UTC, N_("When it was trained (UTC).")),
        "owner": (pl.String, N_("The team that owns it.")),
        "trained_on": (pl.String, N_("Your datasets it was trained on, as \"name version\" separated by commas.")),
    },
}


def meaning(stem: str, column: str) -> str:
    """What ``column`` of the copy's file ``stem`` (e.g. ``telemetry/chat_messages``) means."""
    found = TABLES.get(stem, {}).get(column)
    if found is not None:
        return _(found[1])
    category = catalog.CATEGORY_BY_TABLE.get(stem.removeprefix("telemetry/"))
    if category is not None:
        return category.meaning(column)
    return catalog.COLUMN_MEANINGS.get(column) or catalog.COLUMN_LABELS.get(column, column)


def type_name(dtype: pl.DataType) -> str:
    """A column's type as the manifest names it."""
    if isinstance(dtype, pl.Datetime):
        return "timestamp (UTC)" if dtype.time_zone == "UTC" else "timestamp"
    if dtype == pl.String:
        return "string"
    return str(dtype).lower()


def _frame(stem: str, rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={name: dtype for name, (dtype, _meaning) in TABLES[stem].items()})


def _purpose_name(code: str | None) -> str | None:
    purpose = catalog.PURPOSE_BY_CODE.get(code) if code else None
    return purpose.name if purpose else code


def _category_name(key: str | None) -> str | None:
    cat = catalog.CATEGORY_BY_KEY.get(key) if key else None
    return cat.name if cat else key


def access_events(events: list[my_access.AccessEvent]) -> pl.DataFrame:
    return _frame("access_events", [{
        "event_id": e.event_id, "occurred_at": e.occurred_at, "category_key": e.category_key, "category": e.category,
        "action": e.action, "record_count": e.record_count, "purpose_code": e.purpose_code, "purpose": e.purpose,
        "justification": e.justification, "actor_kind": e.actor_kind, "actor": e.actor, "actor_team": e.actor_team,
        "actor_role": e.actor_role, "source_system": e.source_system, "query_id": e.query_id,
        "flag_codes": ",".join(FLAG_CODES.get(label, label) for label in e.flag_labels),
        "flags": ", ".join(e.flag_labels), "flagged_because": " ".join(e.flags),
    } for e in events])


def privacy_requests_frame(held: list[tuple[privacy_requests.Request, list]]) -> pl.DataFrame:
    return _frame("privacy_requests", [{
        "request_id": r.request_id, "kind": r.kind.value, "kind_words": _(request_views.KIND_WORDS[r.kind]),
        "scope_words": r.scope, "category_keys": ",".join(r.categories or ()), "purpose_code": r.purpose_code,
        "purpose": _purpose_name(r.purpose_code), "channel": r.channel, "details": r.details,
        "received_at": r.received_at, "deadline": r.deadline, "extended_deadline": r.extended_deadline,
        "extension_reason": r.extension_reason, "status": r.status.value, "status_words": _(STATUS_WORDS[r.status]),
        "decision_reason": r.decision_reason, "updated_at": r.updated_at,
    } for r, _history in held])


def request_history(held: list[tuple[privacy_requests.Request, list[privacy_requests.HistoryEntry]]]) -> pl.DataFrame:
    # actor_ref (a pseudonym or service id) is left out: the history shows people by role only.
    return _frame("request_history", [{
        "request_id": r.request_id, "at": e.at, "event": e.event,
        "from_status": e.from_status.value if e.from_status else None, "to_status": e.to_status.value,
        "what_happened": request_views.event_words(e), "by_role": e.actor_role,
        "by": request_views.actor_words(e.actor_role, SUBJECT), "reason": e.reason,
    } for r, entries in held for e in entries])


def objections(found: list[optout.Objection]) -> pl.DataFrame:
    return _frame("objections", [{
        "objection_id": o.objection_id, "request_id": o.request_id, "purpose_code": o.purpose_code,
        "purpose": _purpose_name(o.purpose_code), "category_key": o.category_key,
        "category": _category_name(o.category_key), "effective_at": o.effective_at, "in_words": o.words,
    } for o in found])


def dataset_memberships(held: my_lineage.Lineage, keys: Mapping[str, str] | None = None) -> pl.DataFrame:
    # A membership names its category by name (lineage shows names); the catalog gives the key back.
    keys = keys or {c.name: c.key for c in catalog.CATEGORIES}
    return _frame("dataset_memberships", [{
        "dataset": u.name, "version": u.version, "created_at": u.created_at, "purpose_code": u.purpose_code,
        "purpose": u.purpose, "owner": u.owner, "status": u.status, "status_words": u.status_words,
        "category_key": keys.get(name, name), "category": name, "your_records": n,
        "models_trained_on_it": ", ".join(u.models),
    } for u in held.datasets for name, n in u.records])


def models(held: my_lineage.Lineage) -> pl.DataFrame:
    return _frame("models", [{
        "model": m.name, "version": m.version, "trained_at": m.trained_at, "owner": m.owner,
        "trained_on": ", ".join(m.datasets),
    } for m in held.models])
