"""notifications: a person's notice settings, every notice with its e-mail's state, and how far each source was read

Revision ID: 0011_notifications
Revises: 0010_cache_epochs
Create Date: 2026-12-07 21:10:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0011_notifications'
down_revision = '0010_cache_epochs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notice_settings',
        sa.Column('employee_id', sa.String(length=32), primary_key=True),
        sa.Column('digest', sa.String(length=10), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'notices',
        sa.Column('notice_id', sa.String(length=32), primary_key=True),
        sa.Column('employee_id', sa.String(length=32), nullable=False),
        sa.Column('source_key', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_status', sa.String(length=10), nullable=False),
        sa.Column('email_attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('email_sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_error', sa.Text(), nullable=True),
        sa.UniqueConstraint('source_key'),
    )
    op.create_index('ix_notices_employee_id', 'notices', ['employee_id'])
    op.create_index('ix_notices_email_status', 'notices', ['email_status'])
    op.create_table(
        'notice_marks',
        sa.Column('source', sa.String(length=30), primary_key=True),
        sa.Column('seq', sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('notice_marks')
    op.drop_index('ix_notices_email_status', 'notices')
    op.drop_index('ix_notices_employee_id', 'notices')
    op.drop_table('notices')
    op.drop_table('notice_settings')
