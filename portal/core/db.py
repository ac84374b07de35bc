"""Metadata DB: SQLAlchemy Core tables, engine and migrations.

SQLite file in the data directory by default; PostgreSQL in production via
``PORTAL_DATABASE_URL``. The schema is created and upgraded only by Alembic
(``portal/migrations``); :func:`migrate` runs it.

People appear in append-only tables (access events) only through a pseudonym
from ``pseudonyms``; erasing a person deletes that link, and the append-only
rows stay intact but no longer point to anyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from portal.core import file_modes
from portal.core.i18n import _

metadata = sa.MetaData()

employees = sa.Table(
    "employees",
    metadata,
    sa.Column("employee_id", sa.String(32), primary_key=True),
    sa.Column("oidc_sub", sa.String(255), unique=True, nullable=True),
    sa.Column("email", sa.String(255), unique=True, nullable=False),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("department", sa.String(100), nullable=False, index=True),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("job_title", sa.String(100), nullable=False),
    sa.Column("hired_on", sa.Date, nullable=True),  # the directory formats (SCIM, CSV) carry no hire date
    # From the company's directory (portal ingest employees): whether the directory vouches for the e-mail,
    # leavers (active false: they keep every right), the line manager, and the directory's own id (SCIM id).
    sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("manager_id", sa.String(32), nullable=True, index=True),
    sa.Column("directory_id", sa.String(255), nullable=True, unique=True),
)

# Department and team over time: a change takes effect on a date, so the council's weekly figures keep
# each person in the department they were in that week. valid_from NULL: since the beginning; valid_to
# NULL: still.
employee_departments = sa.Table(
    "employee_departments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("employee_id", sa.String(32), sa.ForeignKey("employees.employee_id"), nullable=False, index=True),
    sa.Column("department", sa.String(100), nullable=False),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("valid_from", sa.Date, nullable=True),
    sa.Column("valid_to", sa.Date, nullable=True),
)

# The one place where a pseudonym is linked to a person.
pseudonyms = sa.Table(
    "pseudonyms",
    metadata,
    sa.Column("pseudonym", sa.String(32), primary_key=True),
    sa.Column("employee_id", sa.String(32), sa.ForeignKey("employees.employee_id"), unique=True, nullable=False),
)

purposes = sa.Table(
    "purposes",
    metadata,
    sa.Column("code", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
)

categories = sa.Table(
    "categories",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # activity | content | record
    sa.Column("table_name", sa.String(100), nullable=False, unique=True),
    sa.Column("subject_column", sa.String(100), nullable=False),
    sa.Column("time_column", sa.String(100), nullable=False),
    sa.Column("legal_basis", sa.String(200), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("source_system", sa.String(200), nullable=False),
    sa.Column("objection_possible", sa.Boolean, nullable=False),
    sa.Column("allowed_roles", sa.String(500), nullable=False),  # comma-separated reader roles
    sa.Column("max_principals", sa.Integer, nullable=False),
)

category_purposes = sa.Table(
    "category_purposes",
    metadata,
    sa.Column("category_key", sa.String(100), sa.ForeignKey("categories.key"), primary_key=True),
    sa.Column("purpose_code", sa.String(100), sa.ForeignKey("purposes.code"), primary_key=True),
)

# Who reads data: services and people. A person-actor is linked through a pseudonym only.
actors = sa.Table(
    "actors",
    metadata,
    sa.Column("actor_id", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(20), nullable=False),  # person | service
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("team", sa.String(100), nullable=False),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("pseudonym", sa.String(32), nullable=True),
)

access_events = sa.Table(
    "access_events",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(64), nullable=False, unique=True),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_id", sa.String(100), nullable=False, index=True),
    sa.Column("subject_pseudonym", sa.String(32), nullable=False, index=True),
    sa.Column("category_key", sa.String(100), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),  # view | query | export | train | delete
    sa.Column("purpose_code", sa.String(100), nullable=True),
    sa.Column("justification", sa.Text, nullable=True),
    sa.Column("source_system", sa.String(200), nullable=False),
    sa.Column("record_count", sa.Integer, nullable=False),
    sa.Column("query_id", sa.String(100), nullable=True),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    # Serves the over-exposure rule: distinct readers of one category in one week.
    sa.Index("ix_access_events_category_time", "category_key", "occurred_at"),
)

datasets = sa.Table(
    "datasets",
    metadata,
    sa.Column("dataset_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("purpose_code", sa.String(100), sa.ForeignKey("purposes.code"), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("status", sa.String(50), nullable=False),
    # The OpenLineage namespace (s3://bucket, postgres://host:5432, bigquery): with name and version, what
    # identifies a dataset. "" for a dataset registered before 0009_lineage_namespace kept it.
    sa.Column("namespace", sa.String(500), nullable=False, server_default=""),
    sa.UniqueConstraint("namespace", "name", "version", name="uq_datasets_namespace_name_version"),
)

dataset_members = sa.Table(
    "dataset_members",
    metadata,
    sa.Column("dataset_id", sa.String(100), sa.ForeignKey("datasets.dataset_id"), primary_key=True),
    sa.Column("subject_pseudonym", sa.String(32), primary_key=True),
    sa.Column("category_key", sa.String(100), sa.ForeignKey("categories.key"), primary_key=True),
    sa.Column("record_count", sa.Integer, nullable=False),
)

models = sa.Table(
    "models",
    metadata,
    sa.Column("model_id", sa.String(100), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("version", sa.String(50), nullable=False),
    sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
)

model_datasets = sa.Table(
    "model_datasets",
    metadata,
    sa.Column("model_id", sa.String(100), sa.ForeignKey("models.model_id"), primary_key=True),
    sa.Column("dataset_id", sa.String(100), sa.ForeignKey("datasets.dataset_id"), primary_key=True),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("grant_id", sa.String(100), primary_key=True),
    sa.Column("principal", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),  # person | group | service
    sa.Column("group_name", sa.String(200), nullable=True),
    sa.Column("member_count", sa.Integer, nullable=False),
    sa.Column("category_key", sa.String(100), sa.ForeignKey("categories.key"), nullable=False),
    sa.Column("granted_by", sa.String(200), nullable=False),
    sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
)


class DatabaseError(RuntimeError):
    """The metadata DB is unreachable or not initialised; the message says how to fix it."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if str(path) != ":memory:":
            if not path.parent.exists():
                file_modes.private_dir(path.parent)
            # Created 0600 before SQLite opens it: SQLite gives -wal and -shm the database file's mode.
            file_modes.private_file(path)
            for suffix in ("-wal", "-shm", "-journal"):
                file_modes.tighten_if_present(f"{path}{suffix}")
        engine = sa.create_engine(url, connect_args={"timeout": 30})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API objects of sqlite3
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with migration_connection(engine) as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextmanager
def migration_connection(engine: Engine) -> Iterator[sa.Connection]:
    """A connection in a transaction for Alembic. On SQLite, foreign keys are off while it runs: a migration
    that changes a column rebuilds its table (Alembic's batch mode), and SQLite would refuse to drop a table
    other rows refer to. Every reference is checked before the transaction commits."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")  # outside a transaction, or SQLite ignores it
        conn.commit()
        try:
            with conn.begin():
                yield conn
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise DatabaseError(_("the migration left {n} broken reference(s), e.g. {example}; nothing was "
                                          "changed").format(n=len(broken), example=broken[0]))
        finally:
            if conn.in_transaction():
                conn.rollback()
            conn.exec_driver_sql("PRAGMA foreign_keys=ON")
            conn.commit()


def check_schema(engine: Engine) -> None:
    """Raise :class:`DatabaseError` with a fix when the DB is unreachable or empty."""
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
    except sa.exc.OperationalError as exc:
        raise DatabaseError(_(
            "Cannot reach the metadata DB ({url}): {why}. Check PORTAL_DATABASE_URL or PORTAL_DATA_DIR.").format(
                url=engine.url.render_as_string(hide_password=True), why=exc.orig)) from None
    missing = {t.name for t in metadata.sorted_tables} - names
    if missing:
        raise DatabaseError(_(
            "The metadata DB is not initialised (missing tables: {tables}). Run `portal seed` for demo data or "
            "`portal migrate` for an empty schema.").format(tables=", ".join(sorted(missing))))


# Privacy requests. The request row is mutable (its status moves); its history in
# request_transitions is append-only and names people only by role and pseudonym.
privacy_requests = sa.Table(
    "privacy_requests",
    metadata,
    sa.Column("request_id", sa.String(32), primary_key=True),
    sa.Column("employee_id", sa.String(32), sa.ForeignKey("employees.employee_id"), nullable=False, index=True),
    sa.Column("kind", sa.String(20), nullable=False),  # erasure | objection | access
    sa.Column("categories", sa.Text, nullable=True),  # JSON list of category keys; NULL: all
    sa.Column("purpose_code", sa.String(100), nullable=True),
    sa.Column("channel", sa.String(20), nullable=False),  # portal | email | letter
    sa.Column("details", sa.Text, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    sa.Column("extended_deadline", sa.Date, nullable=True),
    sa.Column("extension_reason", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("decision_reason", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

request_transitions = sa.Table(
    "request_transitions",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(32), sa.ForeignKey("privacy_requests.request_id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("from_status", sa.String(20), nullable=True),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),  # filed | transition | extended
    sa.Column("actor_role", sa.String(30), nullable=False),  # subject | privacy_office | executor
    sa.Column("actor_ref", sa.String(100), nullable=False),  # pseudonym or service id, never a name
    sa.Column("reason", sa.Text, nullable=True),
)

objections = sa.Table(
    "objections",
    metadata,
    sa.Column("objection_id", sa.String(32), primary_key=True),
    sa.Column("employee_id", sa.String(32), sa.ForeignKey("employees.employee_id"), nullable=False, index=True),
    sa.Column("purpose_code", sa.String(100), nullable=True),
    sa.Column("category_key", sa.String(100), nullable=True),
    sa.Column("request_id", sa.String(32), sa.ForeignKey("privacy_requests.request_id"), nullable=True),
    sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
)

# Salted hashes of erased subject ids, so a training-set gate can still refuse them.
erasure_tombstones = sa.Table(
    "erasure_tombstones",
    metadata,
    sa.Column("subject_hash", sa.String(64), primary_key=True),
    sa.Column("request_id", sa.String(32), sa.ForeignKey("privacy_requests.request_id"), nullable=False),
    sa.Column("categories", sa.Text, nullable=True),
    sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
)

erasure_steps = sa.Table(
    "erasure_steps",
    metadata,
    sa.Column("request_id", sa.String(32), sa.ForeignKey("privacy_requests.request_id"), primary_key=True),
    sa.Column("store", sa.String(30), primary_key=True),  # telemetry | metadata | cache
    sa.Column("target", sa.String(100), primary_key=True),  # table name
    sa.Column("rows_before", sa.Integer, nullable=True),
    sa.Column("rows_removed", sa.Integer, nullable=True),
    sa.Column("version_after", sa.Integer, nullable=True),
    sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
    # Added by 0005_erasure_step_details: what a step found and did, for the receipt and for resuming.
    sa.Column("version_before", sa.Integer, nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("detail", sa.Text, nullable=True),  # JSON
    sa.Column("error", sa.Text, nullable=True),  # the last failure, cleared when the step is done
)

receipts = sa.Table(
    "receipts",
    metadata,
    sa.Column("request_id", sa.String(32), sa.ForeignKey("privacy_requests.request_id"), primary_key=True),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("document", sa.Text, nullable=False),  # the signed JSON receipt
)


# The collector register: every system that sends telemetry, what it may send and why, and its status as
# the works council decided it (pending -> approved <-> suspended). Decisions only grow and go into the
# tamper-evident log (source "collector").
collectors = sa.Table(
    "collectors",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("category_key", sa.String(100), nullable=False, index=True),
    sa.Column("purposes", sa.String(1000), nullable=False),  # comma-separated purpose codes
    sa.Column("legal_basis", sa.String(200), nullable=False),
    sa.Column("retention_days", sa.Integer, nullable=False),
    sa.Column("agreement", sa.String(200), nullable=True),  # the works agreement's reference
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),  # pending | approved | suspended
    sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),  # first approval
    sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status_reason", sa.Text, nullable=True),
)

collector_decisions = sa.Table(
    "collector_decisions",
    metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("collector_name", sa.String(100), sa.ForeignKey("collectors.name"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("event", sa.String(20), nullable=False),  # registered | approved | suspended | resumed
    sa.Column("actor_role", sa.String(30), nullable=False),  # privacy_office | works_council
    sa.Column("actor_ref", sa.String(100), nullable=False),  # pseudonym or service id, never a name
    sa.Column("reason", sa.Text, nullable=True),
)

# Telemetry batches taken in, by a hash of their rows: the same batch twice is stored once.
intake_batches = sa.Table(
    "intake_batches",
    metadata,
    sa.Column("batch_hash", sa.String(64), primary_key=True),
    sa.Column("collector_name", sa.String(100), sa.ForeignKey("collectors.name"), nullable=False, index=True),
    sa.Column("category_key", sa.String(100), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("skipped_objected", sa.BigInteger, nullable=False),  # rows not stored: the person objected
    sa.Column("lake_version", sa.BigInteger, nullable=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
)

# Each `portal retention run`, one row per category: what was past retention and was deleted.
retention_runs = sa.Table(
    "retention_runs",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("category_key", sa.String(100), primary_key=True),
    sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows_deleted", sa.BigInteger, nullable=False),
    sa.Column("files_removed", sa.Integer, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


# The tamper-evident log: which source row sits at which leaf of the Merkle tree,
# and every signed checkpoint ever issued. Both only grow.
log_entries = sa.Table(
    "log_entries",
    metadata,
    sa.Column("log_index", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("source", sa.String(20), nullable=False),  # access | request | collector
    sa.Column("source_seq", sa.BigInteger, nullable=False),
    sa.Column("leaf_hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("source", "source_seq"),
)

log_checkpoints = sa.Table(
    "log_checkpoints",
    metadata,
    sa.Column("tree_size", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("root_hash", sa.String(64), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
)

# Login sessions ended with "Log out" (portal.identity.sessions): refused on their next request by
# every replica. A session is named by a hash of its identity claims, never by the person.
revoked_sessions = sa.Table(
    "revoked_sessions",
    metadata,
    sa.Column("session_key", sa.String(64), primary_key=True),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False, index=True),
)

# The cache epoch (portal.core.cache_epoch): a new value after every erasure or retention run tells every
# process sharing this DB (replicas, the CLI) to drop what it derived from the lake. One row per name.
cache_epochs = sa.Table(
    "cache_epochs",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("epoch", sa.String(32), nullable=False),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
)

# Notifications (portal.notify). A person's choices: how often the digest of reads comes, and the language
# (NULL: follow the browser). Every notice is stored once, unique by what it is about (source_key), in the
# recipient's language, and listed on their Notifications page; email_status records its e-mail.
notice_settings = sa.Table(
    "notice_settings",
    metadata,
    sa.Column("employee_id", sa.String(32), primary_key=True),
    sa.Column("digest", sa.String(10), nullable=False),  # daily | weekly | off
    sa.Column("language", sa.String(8), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

notices = sa.Table(
    "notices",
    metadata,
    sa.Column("notice_id", sa.String(32), primary_key=True),
    sa.Column("employee_id", sa.String(32), nullable=False, index=True),
    sa.Column("source_key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(30), nullable=False),  # flagged_read | lookup | request | collector | digest
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("email_status", sa.String(10), nullable=False, index=True),  # pending | sending | sent | failed | off
    sa.Column("email_attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("email_sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("email_error", sa.Text, nullable=True),
)

# How far `portal notify run` has read each append-only source (access events, request transitions,
# collector decisions), by their seq.
notice_marks = sa.Table(
    "notice_marks",
    metadata,
    sa.Column("source", sa.String(30), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
)
