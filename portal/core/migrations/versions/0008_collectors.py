"""the collector register and its decisions, telemetry batches taken in, retention runs

Revision ID: 0008_collectors
Revises: 0007_directory
Create Date: 2026-12-07 15:40:00.000000
"""
from alembic import op
import sqlalchemy as sa

from portal.core.migrations.append_only import drop_append_only, make_append_only


revision = '0008_collectors'
down_revision = '0007_directory'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('collectors',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('category_key', sa.String(length=100), nullable=False),
    sa.Column('purposes', sa.String(length=1000), nullable=False),
    sa.Column('legal_basis', sa.String(length=200), nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('agreement', sa.String(length=200), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('name')
    )
    op.create_index('ix_collectors_category_key', 'collectors', ['category_key'], unique=False)
    op.create_table('collector_decisions',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('collector_name', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('actor_role', sa.String(length=30), nullable=False),
    sa.Column('actor_ref', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['collector_name'], ['collectors.name'], ),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_collector_decisions_collector_name', 'collector_decisions', ['collector_name'], unique=False)
    make_append_only('collector_decisions')
    op.create_table('intake_batches',
    sa.Column('batch_hash', sa.String(length=64), nullable=False),
    sa.Column('collector_name', sa.String(length=100), nullable=False),
    sa.Column('category_key', sa.String(length=100), nullable=False),
    sa.Column('rows', sa.BigInteger(), nullable=False),
    sa.Column('skipped_objected', sa.BigInteger(), nullable=False),
    sa.Column('lake_version', sa.BigInteger(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['collector_name'], ['collectors.name'], ),
    sa.PrimaryKeyConstraint('batch_hash')
    )
    op.create_index('ix_intake_batches_collector_name', 'intake_batches', ['collector_name'], unique=False)
    op.create_table('retention_runs',
    sa.Column('run_id', sa.String(length=32), nullable=False),
    sa.Column('category_key', sa.String(length=100), nullable=False),
    sa.Column('cutoff', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rows_deleted', sa.BigInteger(), nullable=False),
    sa.Column('files_removed', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('run_id', 'category_key')
    )
    op.create_index('ix_retention_runs_finished_at', 'retention_runs', ['finished_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retention_runs_finished_at', table_name='retention_runs')
    op.drop_table('retention_runs')
    op.drop_index('ix_intake_batches_collector_name', table_name='intake_batches')
    op.drop_table('intake_batches')
    drop_append_only('collector_decisions')
    op.drop_index('ix_collector_decisions_collector_name', table_name='collector_decisions')
    op.drop_table('collector_decisions')
    op.drop_index('ix_collectors_category_key', table_name='collectors')
    op.drop_table('collectors')
