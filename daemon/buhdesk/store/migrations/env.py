"""Alembic environment: migrations run on the connection buhdesk hands over (never at import)."""

from alembic import context
from sqlmodel import SQLModel

import buhdesk.feedback.models  # noqa: F401

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through buhdesk.store.engine.migrate()")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
