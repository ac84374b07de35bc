"""revoked sessions: login sessions ended with "Log out", refused on their next request

Revision ID: 0006_revoked_sessions
Revises: 0005_erasure_details
Create Date: 2026-12-01 00:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_revoked_sessions'
down_revision = '0005_erasure_details'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('revoked_sessions',
    sa.Column('session_key', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('session_key')
    )
    op.create_index('ix_revoked_sessions_revoked_at', 'revoked_sessions', ['revoked_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_revoked_sessions_revoked_at', table_name='revoked_sessions')
    op.drop_table('revoked_sessions')
