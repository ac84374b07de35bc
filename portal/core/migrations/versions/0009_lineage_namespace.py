"""a dataset is its OpenLineage namespace, name and version: s3://a x and bigquery x are two datasets

Datasets registered before this revision get the namespace "" (the ingest dropped it); the next ingest of
the same name and version gives such a row its namespace.

Revision ID: 0009_lineage_namespace
Revises: 0008_collectors
Create Date: 2026-12-07 16:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_lineage_namespace'
down_revision = '0008_collectors'
branch_labels = None
depends_on = None

NEW_UNIQUE = 'uq_datasets_namespace_name_version'
# 0001 left (name, version) unnamed: PostgreSQL called it datasets_name_version_key, SQLite has no name for
# it. On SQLite, batch mode rebuilds the table and names the reflected constraint by this convention.
CONVENTION = {'uq': 'uq_%(table_name)s_%(column_0_N_name)s'}


def _name_version_unique() -> str:
    for found in sa.inspect(op.get_bind()).get_unique_constraints('datasets'):
        if found['column_names'] == ['name', 'version'] and found['name']:
            return found['name']
    return 'uq_datasets_name_version'


def upgrade() -> None:
    old = _name_version_unique()
    with op.batch_alter_table('datasets', naming_convention=CONVENTION) as batch:
        batch.add_column(sa.Column('namespace', sa.String(length=500), nullable=False, server_default=''))
        batch.drop_constraint(old, type_='unique')
        batch.create_unique_constraint(NEW_UNIQUE, ['namespace', 'name', 'version'])


def downgrade() -> None:
    shared = op.get_bind().execute(sa.text(
        "SELECT name, version, COUNT(*) FROM datasets GROUP BY name, version HAVING COUNT(*) > 1")).first()
    if shared is not None:
        raise RuntimeError(f"cannot go below 0009_lineage_namespace: dataset {shared[0]} version {shared[1]} is "
                           f"registered in {shared[2]} namespaces, which the older schema cannot tell apart; "
                           "nothing was changed")
    with op.batch_alter_table('datasets', naming_convention=CONVENTION) as batch:
        batch.drop_constraint(NEW_UNIQUE, type_='unique')
        batch.drop_column('namespace')
        batch.create_unique_constraint('datasets_name_version_key', ['name', 'version'])
