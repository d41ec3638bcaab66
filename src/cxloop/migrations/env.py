"""Alembic environment: runs against the connection or URL cxloop hands it."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import cxloop.models  # noqa: F401  (registers every table on Base.metadata)
from cxloop.db import Base, get_engine

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table instead
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with get_engine(config.get_main_option("sqlalchemy.url") or None).connect() as conn:
        _run(conn)
        conn.commit()
