"""access events are append-only; index for weekly exposure counts

The database itself refuses UPDATE and DELETE on ``access_events`` (and
TRUNCATE on PostgreSQL), so no code path, migration script or console session
can quietly rewrite who read whose data. SQLite aborts the statement with
``RAISE(ABORT, ...)``; PostgreSQL raises an exception from a trigger function.

The index on (category_key, occurred_at) serves the over-exposure rule, which
counts distinct readers of one category in one week.

Revision ID: 0002_append_only
Revises: 0001
"""
from alembic import op

from portal.core.migrations.append_only import drop_append_only, make_append_only

revision = "0002_append_only"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_access_events_category_time", "access_events", ["category_key", "occurred_at"])
    make_append_only("access_events")


def downgrade() -> None:
    drop_append_only("access_events")
    op.drop_index("ix_access_events_category_time", table_name="access_events")
