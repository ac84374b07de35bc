"""erasure steps: Delta version before, start time, details and the last error of each step

Revision ID: 0005_erasure_details
Revises: 0004_audit_log
Create Date: 2026-11-28 03:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_erasure_details'
down_revision = '0004_audit_log'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('erasure_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version_before', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('detail', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('erasure_steps', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('detail')
        batch_op.drop_column('started_at')
        batch_op.drop_column('version_before')
