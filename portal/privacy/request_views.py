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

from portal.core import catalog, db, i18n
from portal.core.i18n import N_, _, ngettext
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

KIND_WORDS = {  # marked here, translated where shown
    Kind.ERASURE: N_("Erasure"),
    Kind.OBJECTION: N_("Objection"),
    Kind.ACCESS: N_("Copy of all data"),
}
OPEN = frozenset(Status) - TERMINAL
WITHDRAWABLE = frozenset({Status.SUBMITTED, Status.IN_REVIEW, Status.APPROVED})


def utc_today() -> date:
    """Today in UTC, the calendar deadlines are counted in."""
    return datetime.now(UTC).date()


def _fmt(day: date) -> str:
    return i18n.day(day)


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
            return _("withdrawn on {day}").format(day=_fmt(closed))
        if request.status == Status.COMPLETED:
            said = (_("completed on {day}, within the deadline of {due}") if closed <= request.due
                    else _("completed on {day}, after the deadline of {due}"))
        else:
            said = (_("rejected on {day}, within the deadline of {due}") if closed <= request.due
                    else _("rejected on {day}, after the deadline of {due}"))
        return said.format(day=_fmt(closed), due=_fmt(request.due))
    left = days_left(request.due, today)
    if left < 0:
        return ngettext("due {day} ({n} day overdue)", "due {day} ({n} days overdue)", -left).format(
            day=_fmt(request.due), n=i18n.number(-left))
    if left == 0:
        return _("due {day} (today)").format(day=_fmt(request.due))
    return ngettext("due {day} ({n} day left)", "due {day} ({n} days left)", left).format(
        day=_fmt(request.due), n=i18n.number(left))


def sentence(text: str) -> str:
    """``text`` with its first letter upper-cased (``str.capitalize`` would lower-case the rest)."""
    return text[:1].upper() + text[1:]


def extension_words(request: Request) -> str | None:
    """Why and to when the deadline was extended, as the employee reads it; None without extension."""
    if request.extended_deadline is None:
        return None
    return _("The privacy office extended the deadline from {deadline} to {extended}. Their reason: {reason}").format(
        deadline=_fmt(request.deadline), extended=_fmt(request.extended_deadline),
        reason=clean(request.extension_reason))


def status_words(request: Request) -> str:
    return _(STATUS_WORDS[request.status])


def _by(role: str, viewer: str) -> str:
    if role == SUBJECT:
        return _("you") if viewer == SUBJECT else _("the employee")
    if role == OFFICE:
        return _("the privacy office")
    if role == EXECUTOR:
        return _("the portal, after checking every store")
    return role


def _what(entry: HistoryEntry) -> str:
    if entry.event == "filed":
        return _("request received")
    if entry.event == "extended":
        return _("deadline extended")
    return _(STATUS_WORDS[entry.to_status])


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
    return [QueueItem(r, names.get(r.employee_id, _("unknown")), urgency(r, today), days_left(r.due, today))
            for r in requests]


def queue_frame(items: list[QueueItem]) -> pl.DataFrame:
    """One row per request, deadline first so the overdue and at-risk marks are in view."""
    return pl.DataFrame(
        [{"Request": i.request.request_id, "Deadline": [i.urgency] if i.urgency else [], "Due": i.request.due,
          "Days left": None if i.request.status in TERMINAL else i.days_left, "Kind": _(KIND_WORDS[i.request.kind]), "Status": i.request.status.value.replace(
              "_", " "), "Person": i.request.employee_id, "Scope": i.request.scope,
          "Received": i.request.received_at} for i in items],
        schema={"Request": pl.String, "Deadline": pl.List(pl.String), "Due": pl.Date, "Days left": pl.Int64,
                "Kind": pl.String, "Status": pl.String, "Person": pl.String, "Scope": pl.String,
                "Received": pl.Datetime("us", "UTC")},
    )


RECEIPT_CHECK = N_(
    "Anyone can check it: any change breaks the signature. A signature proves whose it is only against a key "
    "you got apart from the receipt: ask the privacy office for the portal's receipt key (`portal receipt key`), "
    "save it to a file and run `portal receipt verify RECEIPT.json --key KEYFILE`; it names the key that signed.")


def receipt_summary(document: dict) -> str:
    """What a receipt records, in one sentence for its reader."""
    stores = document.get("stores", {})
    parts = [ngettext("{n} record removed from {table} (table version {before} to {after})",
                      "{n} records removed from {table} (table version {before} to {after})",
                      t["rows_removed"]).format(n=i18n.number(t["rows_removed"]), table=table,
                                                before=t["version_before"], after=t["version_after"])
             for table, t in stores.get("telemetry", {}).items() if "rows_removed" in t]
    members = stores.get("metadata", {}).get("dataset_members", {}).get("rows_removed")
    if members:
        parts.append(ngettext("{n} dataset membership removed", "{n} dataset memberships removed", members).format(
            n=i18n.number(members)))
    if "copy" in stores:
        copied = sum(stores["copy"]["records"].values())
        parts.append(ngettext("a copy of {n} record produced (SHA-256 {sha}...)",
                              "a copy of {n} records produced (SHA-256 {sha}...)", copied).format(
            n=i18n.number(copied), sha=stores["copy"]["sha256"][:16]))
    objections = stores.get("metadata", {}).get("objections", {}).get("rows_added")
    if objections:
        parts.append(ngettext("{n} objection recorded", "{n} objections recorded", objections).format(
            n=i18n.number(objections)))
    flagged, models = len(document.get("datasets_flagged", [])), len(document.get("models_affected", []))
    if flagged:
        parts.append(ngettext("{n} dataset version flagged for rebuilding",
                              "{n} dataset versions flagged for rebuilding", flagged).format(n=i18n.number(flagged)))
    if models:
        parts.append(ngettext("{n} model trained on them listed", "{n} models trained on them listed",
                              models).format(n=i18n.number(models)))
    verified = document.get("verification", {}).get("result")
    results = {"passed": _("passed"), "failed": _("failed")}
    verified_words = results.get(verified, verified) if verified else _("not recorded")
    return _("{what}. Verification: {result}.").format(
        what=sentence(_("; ").join(parts) or _("nothing to change")), result=verified_words)


def title(request: Request) -> str:
    """E.g. "Erasure: Keystroke activity", "Objection: purpose Training AI systems", "Copy of all data"."""
    if request.kind == Kind.ACCESS:
        return _(KIND_WORDS[Kind.ACCESS])
    return _("{kind}: {scope}").format(kind=_(KIND_WORDS[request.kind]), scope=request.scope)


def subject_name(engine: Engine, principal: Principal, request_id: str) -> str:
    """Name and employee id of the person a request is about, for the privacy office only."""
    ensure(principal, "requests:read_all")
    request = get(engine, principal, request_id)
    name = _names(engine, {request.employee_id}).get(request.employee_id, _("unknown"))
    return f"{name} ({request.employee_id})"


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

# Shown as Markdown by the pages, translated there: _(ERASURE_CONSEQUENCES).
ERASURE_CONSEQUENCES = N_("""\
**What erasure means**

- **It cannot be undone.** Your records are deleted from every store, including older versions of the \
tables, and cannot be restored, not even for you. If you want to keep a copy, download it on *My copy* first.
- **Performance records are kept.** They are held under your employment contract (GDPR Art. 6(1)(b)) while \
you work here; they are not erased, and you cannot object to them.
- **A legal hold keeps what it covers.** If records about you are held for a court case, an investigation or \
an audit, the privacy office keeps exactly those until the hold ends and tells you which.
- **Training datasets** that include your data are marked to be rebuilt without it before the next training run. \
Models already trained on them are listed in your receipt; erasure cannot take your data back out of a \
trained model.
- **What stays:** this request and its history, your employee record (so you can still sign in), and a salted \
fingerprint of your employee id that lets training pipelines refuse your data. The access log stays intact \
but, when you erase everything, no longer points to you, so *Who accessed my data* starts empty.
- When it is done you get a **signed receipt** that anyone can check.
""")

OBJECTION_CONSEQUENCES = N_("""\
**What an objection means**

- From the moment it is carried out, you are **left out of every new dataset** built for the purpose you \
object to (or drawing on the categories you name). Pipelines check the list before they build.
- Datasets that already include you are marked "to be rebuilt without you after your opt-out".
- Your data itself is not deleted: it is still used for the other purposes listed on *My data*. Ask for \
erasure if you want it gone.
- **Performance records** are kept under your employment contract and cannot be objected to.
""")

ACCESS_EXPLANATION = N_("""\
The privacy office prepares a complete copy of everything held about you: every telemetry record, every \
time someone read your data, and the datasets and models that include it. You can also download a copy \
yourself, right away, on *My copy*.
""")


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
        [{"Store": _("Telemetry lake") if t.store == "telemetry" else _("Metadata DB"), "Table": t.table,
          "What": t.what, "Rows": t.rows, "Delta version now": "" if t.version is None else str(t.version)}
         for t in found.tables],
        schema={"Store": pl.String, "Table": pl.String, "What": pl.String, "Rows": pl.Int64,
                "Delta version now": pl.String},
    )


def plan_datasets_frame(found: "ErasurePlan") -> pl.DataFrame:
    return pl.DataFrame(
        [{"Dataset": d.name, "Version": d.version, "Purpose": d.purpose, "Records of the person": d.records,
          "Status now": d.status.replace("_", " "),
          "Will be": _(DATASET_STATUS_WORDS[d.new_status]) if d.new_status in DATASET_STATUS_WORDS
          else d.new_status.replace("_", " ")} for d in found.datasets],
        schema={"Dataset": pl.String, "Version": pl.String, "Purpose": pl.String, "Records of the person": pl.Int64,
                "Status now": pl.String, "Will be": pl.String},
    )


def plan_models_frame(found: "ErasurePlan") -> pl.DataFrame:
    return pl.DataFrame(
        [{"Model": m.name, "Version": m.version, "Trained on": ", ".join(m.datasets)} for m in found.models],
        schema={"Model": pl.String, "Version": pl.String, "Trained on": pl.String},
    )
