"""The telemetry catalog: categories, purposes, legal bases, retention.

Keys follow fideslang's dotted style (``user.behavior.keystrokes``). Each
category names the Delta table holding it and that table's subject and time
columns; export, erasure and summaries iterate this catalog, so no table can be
forgotten by one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from portal.core import db
from portal.core.roles import PRIVACY_OFFICE


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
class Category:
    key: str
    name: str
    description: str
    kind: str  # activity | content | record
    table_name: str
    legal_basis: str
    retention_days: int
    source_system: str
    objection_possible: bool
    purposes: tuple[str, ...]
    allowed_roles: tuple[str, ...]
    max_principals: int  # principals outside scoped roles; a company may set its own (PORTAL_MAX_PRINCIPALS)
    subject_column: str = "subject_id"
    time_column: str = "ts"
    scoped_roles: tuple[ScopedRole, ...] = ()  # allowed roles limited to their own people, counted apart

    @property
    def has_content(self) -> bool:
        return self.kind == "content"


PURPOSES: tuple[Purpose, ...] = (
    Purpose("essential.service.security", "Security monitoring",
            "Detect compromised accounts, data theft and insider threats."),
    Purpose("analytics.reporting.productivity", "Productivity reporting",
            "Team-level reports on working patterns and tool usage."),
    Purpose("train_ai_system", "Training AI systems",
            "Building datasets to train or evaluate machine-learning models."),
    Purpose("essential.service.collaboration", "Providing chat and meetings",
            "Operating the chat and meeting services, including search and history."),
    Purpose("employment.performance_management", "Performance management",
            "Goal setting, reviews and compensation decisions."),
    Purpose("legal.compliance", "Legal compliance",
            "Retention required by law, legal holds and audits."),
)

_LI = "GDPR Art. 6(1)(f) legitimate interests"
_CONTRACT = "GDPR Art. 6(1)(b) employment contract"

CATEGORIES: tuple[Category, ...] = (
    Category(
        "user.behavior.keystrokes", "Keystroke activity",
        "How many keys you pressed per 15-minute window and how long you were active. Not the keys themselves.",
        "activity", "keystrokes", _LI, 180, "EndpointAgent 4.2",
        True, ("essential.service.security", "analytics.reporting.productivity", "train_ai_system"),
        ("security-operations", "people-analytics", "ml-platform", PRIVACY_OFFICE), 25,
    ),
    Category(
        "user.behavior.mouse_movement", "Mouse activity",
        "Distance moved, clicks and scrolls per 15-minute window.",
        "activity", "mouse_activity", _LI, 180, "EndpointAgent 4.2",
        True, ("analytics.reporting.productivity", "train_ai_system"),
        ("people-analytics", "ml-platform", PRIVACY_OFFICE), 20,
    ),
    Category(
        "user.behavior.application_usage", "Active application and window",
        "Which application and window title was in front, and for how long.",
        "activity", "app_usage", _LI, 365, "EndpointAgent 4.2",
        True, ("essential.service.security", "analytics.reporting.productivity", "train_ai_system"),
        ("security-operations", "people-analytics", "ml-platform", PRIVACY_OFFICE), 25,
    ),
    Category(
        "user.content.private.chat", "Chat messages",
        "Messages you wrote in workplace chat channels and direct messages.",
        "content", "chat_messages", _CONTRACT, 730, "TeamChat",
        True, ("essential.service.collaboration", "legal.compliance", "train_ai_system"),
        ("compliance", "ml-platform", PRIVACY_OFFICE), 10,
    ),
    Category(
        "user.content.private.meeting_transcript", "Meeting transcription",
        "Transcribed segments of what you said in recorded meetings.",
        "content", "transcript_segments", _LI, 365, "MeetAssist Transcriber",
        True, ("essential.service.collaboration", "train_ai_system"),
        ("ml-platform", PRIVACY_OFFICE), 10,
    ),
    Category(
        "user.workplace.performance", "Performance records",
        "Monthly metrics and review notes from your manager.",
        "record", "performance_records", _CONTRACT, 1095, "HRIS Performance",
        False, ("employment.performance_management", "train_ai_system"),
        ("hr-business-partners", "line-managers", PRIVACY_OFFICE), 30,
        # A line manager, a handover or a deputy: two per person a week; spans of control stay under 20.
        scoped_roles=(ScopedRole("line-managers", "their direct reports", 2, 20, directory_manager=True),),
    ),
)

CATEGORY_BY_KEY = {c.key: c for c in CATEGORIES}
CATEGORY_BY_TABLE = {c.table_name: c for c in CATEGORIES}
PURPOSE_BY_CODE = {p.code: p for p in PURPOSES}
# The longest any category is kept: the portal's retention horizon, beyond which it accepts no dated event.
LONGEST_RETENTION_DAYS = max(c.retention_days for c in CATEGORIES)

_TS = pa.timestamp("us", tz="UTC")
_BASE = [("subject_id", pa.string()), ("bucket", pa.int32()), ("ts", _TS)]

# Arrow schema of each Delta table; every table has subject_id, bucket (partition) and ts.
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "keystrokes": pa.schema(_BASE + [("window_minutes", pa.int16()), ("key_count", pa.int32()),
                                     ("active_seconds", pa.int32()), ("device", pa.string())]),
    "mouse_activity": pa.schema(_BASE + [("window_minutes", pa.int16()), ("distance_px", pa.int32()),
                                         ("clicks", pa.int32()), ("scrolls", pa.int32())]),
    "app_usage": pa.schema(_BASE + [("application", pa.string()), ("window_title", pa.string()),
                                    ("seconds", pa.int32())]),
    "chat_messages": pa.schema(_BASE + [("message_id", pa.string()), ("channel", pa.string()), ("text", pa.string())]),
    "transcript_segments": pa.schema(_BASE + [("meeting_id", pa.string()), ("meeting_title", pa.string()),
                                              ("duration_seconds", pa.int32()), ("text", pa.string())]),
    "performance_records": pa.schema(_BASE + [("metric", pa.string()), ("value", pa.float64()),
                                              ("period", pa.string()), ("note", pa.string())]),
}


# How each stored column is labelled when shown to a person.
COLUMN_LABELS: dict[str, str] = {
    "ts": "When (UTC)", "window_minutes": "Window (min)", "key_count": "Keys pressed",
    "active_seconds": "Active (s)", "device": "Device", "distance_px": "Mouse distance (px)", "clicks": "Clicks",
    "scrolls": "Scrolls", "application": "Application", "window_title": "Window title", "seconds": "Seconds in front",
    "message_id": "Message id", "channel": "Channel", "text": "Text", "meeting_id": "Meeting id",
    "meeting_title": "Meeting", "duration_seconds": "Duration (s)", "metric": "Metric", "value": "Value",
    "period": "Period", "note": "Note",
}

# What each stored column means, for the schema in a person's copy (a column not listed is described by its label).
COLUMN_MEANINGS: dict[str, str] = {
    "subject_id": "Your employee id: whom the record is about.",
    "ts": "When the record was made (UTC); for windowed activity, the start of the window.",
    "window_minutes": "Length of the measuring window in minutes.",
    "key_count": "How many keys were pressed in the window (not which keys).",
    "active_seconds": "Seconds with keyboard or mouse activity in the window.",
    "device": "The computer the endpoint agent ran on.",
    "distance_px": "How far the mouse moved in the window, in screen pixels.",
    "clicks": "Mouse clicks in the window.",
    "scrolls": "Scroll steps in the window.",
    "application": "The application that was in front.",
    "window_title": "The title of its window at the time.",
    "seconds": "How long it was in front, in seconds.",
    "message_id": "The chat system's id of the message.",
    "channel": "The channel or direct conversation the message was in.",
    "text": "The text itself: the message you wrote, or what you said in the meeting segment.",
    "meeting_id": "The meeting system's id of the meeting.",
    "meeting_title": "The meeting's title.",
    "duration_seconds": "Length of the transcribed segment in seconds.",
    "metric": "The performance metric or kind of review entry.",
    "value": "The metric's value.",
    "period": "The period the record covers (e.g. a month).",
    "note": "Your manager's note, if any.",
}


class UnknownCategory(KeyError):
    def __str__(self) -> str:
        known = ", ".join(sorted(CATEGORY_BY_KEY))
        return f"unknown telemetry category {self.args[0]!r}; known categories: {known}"


def category(key: str) -> Category:
    try:
        return CATEGORY_BY_KEY[key]
    except KeyError:
        raise UnknownCategory(key) from None


def _upsert(conn: Connection, table: sa.Table, key_column: str, row: dict) -> None:
    key = table.c[key_column]
    found = conn.execute(sa.select(key).where(key == row[key_column])).first()
    if found:
        conn.execute(sa.update(table).where(key == row[key_column]).values(**row))
    else:
        conn.execute(sa.insert(table).values(**row))


def sync(conn: Connection) -> None:
    """Write the catalog into the metadata DB (idempotent; rows are updated in place)."""
    for p in PURPOSES:
        _upsert(conn, db.purposes, "code", {"code": p.code, "name": p.name, "description": p.description})
    conn.execute(sa.delete(db.category_purposes))
    for c in CATEGORIES:
        _upsert(conn, db.categories, "key", {
            "key": c.key, "name": c.name, "description": c.description, "kind": c.kind,
            "table_name": c.table_name, "subject_column": c.subject_column, "time_column": c.time_column,
            "legal_basis": c.legal_basis, "retention_days": c.retention_days,
            "source_system": c.source_system, "objection_possible": c.objection_possible,
            "allowed_roles": ",".join(c.allowed_roles), "max_principals": c.max_principals,
        })
        for code in c.purposes:
            conn.execute(sa.insert(db.category_purposes).values(category_key=c.key, purpose_code=code))
