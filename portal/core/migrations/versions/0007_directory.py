"""the company's directory: leavers, line managers, the directory's id, whether it vouches for the e-mail,
hire dates optional, and departments over time

Revision ID: 0007_directory
Revises: 0006_revoked_sessions
Create Date: 2026-12-01 03:30:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_directory'
down_revision = '0006_revoked_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('employees') as batch:
        batch.alter_column('hired_on', existing_type=sa.Date(), nullable=True)
        batch.add_column(sa.Column('email_verified', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column('manager_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('directory_id', sa.String(length=255), nullable=True))
        batch.create_index('ix_employees_manager_id', ['manager_id'], unique=False)
        batch.create_unique_constraint('uq_employees_directory_id', ['directory_id'])
    op.create_table('employee_departments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('employee_id', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['employee_id'], ['employees.employee_id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_employee_departments_employee_id', 'employee_departments', ['employee_id'], unique=False)
    # Everyone known so far has been in their department since the beginning.
    op.execute("INSERT INTO employee_departments (employee_id, department, team, valid_from, valid_to) "
               "SELECT employee_id, department, team, NULL, NULL FROM employees")


def downgrade() -> None:
    op.drop_index('ix_employee_departments_employee_id', table_name='employee_departments')
    op.drop_table('employee_departments')
    with op.batch_alter_table('employees') as batch:
        batch.drop_constraint('uq_employees_directory_id', type_='unique')
        batch.drop_index('ix_employees_manager_id')
        batch.drop_column('directory_id')
        batch.drop_column('manager_id')
        batch.drop_column('active')
        batch.drop_column('email_verified')
        # hired_on stays nullable: people who came from the directory have no hire date to put back.
