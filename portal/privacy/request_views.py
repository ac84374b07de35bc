"""How privacy requests are shown: deadlines and history in words, and the privacy office's queue.

The employee and the privacy office read the same request; only the words for
who acted differ ("you" versus "the employee"). The queue is ordered by the
deadline in force and marks requests that are overdue or due within
:data:`AT_RISK_DAYS` days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import catalog, db
from portal.privacy.deadlines import days_left
from portal.privacy.erasure_plan import DATASET_STATUS_WORDS
from portal.identity.principal import Principal
from portal.core.plain_text import clean
from portal.identity.policy import ensure
from portal.privacy.privacy_requests import HistoryEntry, Request, erasable, get, list_requests, objectable_purposes
from portal.privacy.request_states import EXECUTOR, OFFICE, STATUS_WORDS, SUBJECT, TERMINAL, Kind, Status

if TYPE_CHECKING:
    from portal.privacy.erasure_plan import ErasurePlan

AT_RISK_DAYS = 7
OVERDUE, AT_RISK = "overdue", "at risk"
URGENCY_LABELS = (OVERDUE, AT_RISK)
URGENCY_COLOURS = ("#d62728", "#e6a100")

KIND_WORDS = {
    Kind.ERASURE: "Erasure",
    Kind.OBJECTION: "Objection",
    Kind.ACCESS: "Copy of all data",
}
OPEN = frozenset(Status) - TERMINAL
WITHDRAWABLE = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED})


def utc_today() -> date:
    """Today in UTC, the calendar deadlines are counted in."""
    return datetime.now(UTC).date()


def _fmt(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def urgency(request: Request, today: date) -> str | None:
    """``overdue``, ``at risk`` (due within 7 days) or None; closed requests are never urgent."""
    if request.status in TERMINAL:
        return None
    left = days_left(request.due, today)
    if left < 0:
        return OVERDUE
    if left <= AT_RISK_DAYS:
        return AT_RISK
    return None


def deadline_words(request: Request, today: date) -> str:
    """The deadline in force in words, e.g. "due 28 Dec 2026 (12 days left)"."""
    if request.status in TERMINAL:
        closed = request.updated_at.date()
        if request.status == Status.WITHDRAWN:
            return f"withdrawn on {_fmt(closed)}"
        timing = "within the deadline" if closed <= request.due else "after the deadline"
        return f"{request.status.value} on {_fmt(closed)}, {timing} of {_fmt(request.due)}"
    left = days_left(request.due, today)
    if left < 0:
        return f"due {_fmt(request.due)} ({-left} day{'s' if left != -1 else ''} overdue)"
    if left == 0:
        return f"due {_fmt(request.due)} (today)"
    return f"due {_fmt(request.due)} ({left} day{'s' if left != 1 else ''} left)"


def sentence(text: str) -> str:
    """``text`` with its first letter upper-cased (``str.capitalize`` would lower-case the rest)."""
    return text[:1].upper() + text[1:]


def extension_words(request: Request) -> str | None:
    """Why and to when the deadline was extended, as the employee reads it; None without extension."""
    if request.extended_deadline is None:
        return None
    return (f"The privacy office extended the deadline from {_fmt(request.deadline)} to "
            f"{_fmt(request.extended_deadline)}. Their reason: {clean(request.extension_reason)}")


def status_words(request: Request) -> str:
    return STATUS_WORDS[request.status]


def _by(role: str, viewer: str) -> str:
    if role == SUBJECT:
        return "you" if viewer == SUBJECT else "the employee"
    if role == OFFICE:
        return "the privacy office"
    if role == EXECUTOR:
        return "the portal, after checking every store"
    return role


def _what(entry: HistoryEntry) -> str:
    if entry.event == "filed":
        return "request received"
    if entry.event == "extended":
        return "deadline extended"
    return STATUS_WORDS[entry.to_status]


actor_words, event_words = _by, _what  # the person's copy puts these words beside the codes


def history_frame(entries: list[HistoryEntry], viewer: str = SUBJECT) -> pl.DataFrame:
    """``When``, ``What happened``, ``By``, ``Reason``; people appear only as roles."""
    return pl.DataFrame(
        [{"When": e.at, "What happened": _what(e), "By": _by(e.actor_role, viewer), "Reason": e.reason or ""}
         for e in entries],
        schema={"When": pl.Datetime("us", "UTC"), "What happened": pl.String, "By": pl.String, "Reason": pl.String},
    )


@dataclass(frozen=True)
class QueueItem:
    request: Request
    display_name: str
    urgency: str | None
    days_left: int

    @property
    def person(self) -> str:
        return f"{self.display_name} ({self.request.employee_id})"


def _names(engine: Engine, employee_ids: set[str]) -> dict[str, str]:
    if not employee_ids:
        return {}
    e = db.employees.c
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(e.employee_id, e.display_name).where(e.employee_id.in_(employee_ids))).all())


def queue(engine: Engine, principal: Principal, today: date | None = None, *,
          include_closed: bool = False, keep: str | None = None) -> list[QueueItem]:
    """The privacy office's queue, soonest deadline first (``requests:read_all``).

    ``keep``: a request to list even when closed, so the one just decided stays in view.
    """
    today = today or utc_today()
    requests = [r for r in list_requests(engine, principal)
                if include_closed or r.status in OPEN or r.request_id == keep]
    names = _names(engine, {r.employee_id for r in requests})
    return [QueueItem(r, names.get(r.employee_id, "unknown"), urgency(r, today), days_left(r.due, today))
            for r in requests]


def queue_frame(items: list[QueueItem]) -> pl.DataFrame:
    """One row per request, deadline first so the overdue and at-risk marks are in view."""
    return pl.DataFrame(
        [{"Request": i.request.request_id, "Deadline": [i.urgency] if i.urgency else [], "Due": i.request.due,
          "Days left": None if i.request.status in TERMINAL else i.days_left, "Kind": KIND_WORDS[i.request.kind], "Status": i.request.status.value.replace(
              "_", " "), "Person": i.request.employee_id, "Scope": i.request.scope,
          "Received": i.request.received_at} for i in items],
        schema={"Request": pl.String, "Deadline": pl.List(pl.String), "Due": pl.Date, "Days left": pl.Int64,
                "Kind": pl.String, "Status": pl.String, "Person": pl.String, "Scope": pl.String,
                "Received": pl.Datetime("us", "UTC")},
    )


RECEIPT_CHECK = (
    "Anyone can check it: any change breaks the signature. A signature proves whose it is only against a key "
    "you got apart from the receipt: ask the privacy office for the portal's receipt key (`portal receipt key`), "
    "save it to a file and run `portal receipt verify RECEIPT.json --key KEYFILE`; it names the key that signed.")


def receipt_summary(document: dict) -> str:
    """What a receipt records, in one sentence for its reader."""
    stores = document.get("stores", {})
    parts = [f"{t['rows_removed']:,} records removed from {table} (table version {t['version_before']} to "
             f"{t['version_after']})" for table, t in stores.get("telemetry", {}).items() if "rows_removed" in t]
    members = stores.get("metadata", {}).get("dataset_members", {}).get("rows_removed")
    if members:
        parts.append(f"{members:,} dataset membership{'s' if members != 1 else ''} removed")
    if "copy" in stores:
        parts.append(f"a copy of {sum(stores['copy']['records'].values()):,} records produced "
                     f"(SHA-256 {stores['copy']['sha256'][:16]}...)")
    objections = stores.get("metadata", {}).get("objections", {}).get("rows_added")
    if objections:
        parts.append(f"{objections} objection{'s' if objections != 1 else ''} recorded")
    flagged, models = len(document.get("datasets_flagged", [])), len(document.get("models_affected", []))
    if flagged:
        parts.append(f"{flagged} dataset version{'s' if flagged != 1 else ''} flagged for rebuilding")
    if models:
        parts.append(f"{models} model{'s' if models != 1 else ''} trained on them listed")
    verified = document.get("verification", {}).get("result", "not recorded")
    return sentence("; ".join(parts) or "nothing to change") + f". Verification: {verified}."


def title(request: Request) -> str:
    """E.g. "Erasure: Keystroke activity", "Objection: purpose Training AI systems", "Copy of all data"."""
    if request.kind == Kind.ACCESS:
        return KIND_WORDS[Kind.ACCESS]
    return f"{KIND_WORDS[request.kind]}: {request.scope}"


def subject_name(engine: Engine, principal: Principal, request_id: str) -> str:
    """Name and employee id of the person a request is about, for the privacy office only."""
    ensure(principal, "requests:read_all")
    request = get(engine, principal, request_id)
    return f"{_names(engine, {request.employee_id}).get(request.employee_id, 'unknown')} ({request.employee_id})"


def register_frame(engine: Engine, today: date | None = None) -> pl.DataFrame:
    """Every request as ``person, kind, status, met_deadline``: the works council's request source.

    ``met_deadline``: True when the request was closed (completed or rejected) by
    its deadline, False when it was closed late or is open past it, null when it
    is open and not yet due or was withdrawn. For aggregates only; callers check policy.
    """
    today = today or utc_today()
    r, t = db.privacy_requests.c, db.request_transitions.c
    closed = (sa.select(t.request_id, sa.func.max(t.at).label("closed_at"))
              .where(t.to_status.in_([Status.COMPLETED.value, Status.REJECTED.value])).group_by(t.request_id)
              .subquery())
    query = (sa.select(r.employee_id, r.kind, r.status, r.deadline, r.extended_deadline, r.updated_at,
                       closed.c.closed_at)
             .select_from(db.privacy_requests.outerjoin(closed, closed.c.request_id == r.request_id)))
    rows = []
    with engine.connect() as conn:
        for row in conn.execute(query):
            due = row.extended_deadline or row.deadline
            closed_at = row.closed_at
            if closed_at is None and row.status in (Status.COMPLETED.value, Status.REJECTED.value):
                closed_at = row.updated_at  # a register imported without its history
            if closed_at is not None:
                met = closed_at.date() <= due
            elif row.status == Status.WITHDRAWN.value or today <= due:
                met = None
            else:
                met = False
            rows.append({"person": row.employee_id, "kind": row.kind, "status": row.status, "met_deadline": met})
    return pl.DataFrame(rows, schema={"person": pl.String, "kind": pl.String, "status": pl.String,
                                      "met_deadline": pl.Boolean})


# ---- what the employee is told before filing -----------------------------------------

ERASURE_CONSEQUENCES = """\
**What erasure means**

- **It cannot be undone.** Your records are deleted from every store, including older versions of the \
tables, and cannot be restored, not even for you. If you want to keep a copy, download it on *My copy* first.
- **Performance records are kept.** They are held under your employment contract (GDPR Art. 6(1)(b)) while \
you work here; they are not erased, and you cannot object to them.
- **A legal hold keeps what it covers.** If records about you are held for a court case, an investigation or \
an audit, the privacy office keeps exactly those until the hold ends and tells you which.
- **Training datasets** that include your data are marked "must be rebuilt before the next training run". \
Models already trained on them are listed in your receipt; erasure cannot take your data back out of a \
trained model.
- **What stays:** this request and its history, your employee record (so you can still sign in), and a salted \
fingerprint of your employee id that lets training pipelines refuse your data. The access log stays intact \
but, when you erase everything, no longer points to you, so *Who accessed my data* starts empty.
- When it is done you get a **signed receipt** that anyone can check.
"""

OBJECTION_CONSEQUENCES = """\
**What an objection means**

- From the moment it is carried out, you are **left out of every new dataset** built for the purpose you \
object to (or drawing on the categories you name). Pipelines check the list before they build.
- Datasets that already include you are marked "to be rebuilt without you after your opt-out".
- Your data itself is not deleted: it is still used for the other purposes listed on *My data*. Ask for \
erasure if you want it gone.
- **Performance records** are kept under your employment contract and cannot be objected to.
"""

ACCESS_EXPLANATION = """\
The privacy office prepares a complete copy of everything held about you: every telemetry record, every \
time someone read your data, and the datasets and models that include it. You can also download a copy \
yourself, right away, on *My copy*.
"""


def erasable_choices() -> dict[str, str]:
    """Category name -> key for the categories erasure can cover."""
    return {catalog.category(k).name: k for k in erasable()}


def objectable_choices() -> tuple[dict[str, str], dict[str, str]]:
    """(purpose name -> code, category name -> key) an objection can name."""
    purposes = {catalog.PURPOSE_BY_CODE[c].name: c for c in objectable_purposes()}
    categories = {c.name: c.key for c in catalog.CATEGORIES if c.objection_possible}
    return purposes, categories


# ---- what carrying out a request will touch, for the privacy office --------------------------


def plan_tables_frame(found: "ErasurePlan") -> pl.DataFrame:
    return pl.DataFrame(
        [{"Store": "Telemetry lake" if t.store == "telemetry" else "Metadata DB", "Table": t.table,
          "What": t.what, "Rows": t.rows, "Delta version now": "" if t.version is None else str(t.version)}
         for t in found.tables],
        schema={"Store": pl.String, "Table": pl.String, "What": pl.String, "Rows": pl.Int64,
                "Delta version now": pl.String},
    )


def plan_datasets_frame(found: "ErasurePlan") -> pl.DataFrame:
    return pl.DataFrame(
        [{"Dataset": d.name, "Version": d.version, "Purpose": d.purpose, "Records of the person": d.records,
          "Status now": d.status.replace("_", " "),
          "Will be": DATASET_STATUS_WORDS.get(d.new_status, d.new_status.replace("_", " "))} for d in found.datasets],
        schema={"Dataset": pl.String, "Version": pl.String, "Purpose": pl.String, "Records of the person": pl.Int64,
                "Status now": pl.String, "Will be": pl.String},
    )


def plan_models_frame(found: "ErasurePlan") -> pl.DataFrame:
    return pl.DataFrame(
        [{"Model": m.name, "Version": m.version, "Trained on": ", ".join(m.datasets)} for m in found.models],
        schema={"Model": pl.String, "Version": pl.String, "Trained on": pl.String},
    )
