"""Alembic environment: run migrations on the connection chiso hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from chiso.store.tables import metadata

config = context.config
connection: Connection | None = config.attributes.get("connection")


def run() -> None:
    if connection is None:
        raise RuntimeError("run migrations through `chiso db upgrade`, which opens the database")
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
