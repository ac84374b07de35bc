"""Migration 0009 makes the namespace part of a dataset's identity, up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from portal.core import db

BEFORE, AFTER = "0008_collectors", "0009_lineage_namespace"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    url = (f"sqlite:///{tmp_path / 'portal.db'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_postgres_url"))
    engine = db.make_engine(url)
    yield engine
    engine.dispose()


def move(engine: sa.Engine, revision: str, *, down: bool = False) -> None:
    config = Config()
    config.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    with db.migration_connection(engine) as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def add(engine: sa.Engine, dataset_id: str, name: str = "corpus", version: str = "v1", **namespace: str) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO datasets (dataset_id, name, version, created_at, purpose_code, owner, status"
                             + (", namespace" if namespace else "") + ") VALUES (:id, :name, :version, :at, "
                             "'train_ai_system', 'ml', 'active'" + (", :namespace" if namespace else "") + ")"),
                     {"id": dataset_id, "name": name, "version": version, "at": WHEN, **namespace})


def columns(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return {c["name"] for c in sa.inspect(conn).get_columns("datasets")}


def test_the_namespace_joins_a_datasets_identity_and_the_migration_goes_back_down(database):
    move(database, BEFORE)
    with database.begin() as conn:
        conn.execute(sa.text("INSERT INTO purposes (code, name, description) VALUES ('train_ai_system', 'T', 'T')"))
    add(database, "corpus@v1")
    move(database, AFTER)
    with database.connect() as conn:
        assert conn.execute(sa.text("SELECT namespace FROM datasets")).scalar_one() == ""  # kept, namespace unknown
    add(database, "a/corpus@v1", namespace="s3://a")
    add(database, "bq/corpus@v1", namespace="bigquery")  # same name and version, another namespace: allowed
    with pytest.raises(sa.exc.IntegrityError):
        add(database, "again", namespace="s3://a")
    with pytest.raises(RuntimeError, match="dataset corpus version v1 is registered in 3 namespaces"):
        move(database, BEFORE, down=True)
    assert "namespace" in columns(database)  # the refused downgrade changed nothing
    with database.begin() as conn:
        conn.execute(sa.text("DELETE FROM datasets WHERE namespace <> ''"))
    move(database, BEFORE, down=True)
    assert "namespace" not in columns(database)
    with pytest.raises(sa.exc.IntegrityError):
        add(database, "twice", name="corpus", version="v1")  # the old identity is back
    move(database, AFTER)  # and up again over the restored constraint
    add(database, "b/corpus@v1", namespace="s3://b")
