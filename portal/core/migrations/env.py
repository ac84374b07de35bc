from alembic import context

from portal.core.db import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through portal.core.db.migrate
    raise RuntimeError("run migrations through portal.core.db.migrate(engine)")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
