"""the cache epoch lives in the metadata DB, so every replica sharing it sees an erasure at once

Revision ID: 0010_cache_epochs
Revises: 0009_lineage_namespace
Create Date: 2026-12-07 18:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_cache_epochs'
down_revision = '0009_lineage_namespace'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cache_epochs',
        sa.Column('name', sa.String(length=40), primary_key=True),
        sa.Column('epoch', sa.String(length=32), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('cache_epochs')
