"""Alembic environment for the Reelwright database.

Used two ways: programmatically by :func:`storage.db.migrate`, which passes an open connection in
``config.attributes["connection"]`` (inside a transaction that holds the migration lock), and from the
``alembic`` command line, where the URL comes from ``REELWRIGHT_DB`` (see :func:`storage.db.database_url`).
``render_as_batch`` lets later migrations alter tables on SQLite (copy-and-move) with the same code.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from storage.db import database_url, make_engine
from storage.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _configure(connection) -> None:  # noqa: ANN001 - Connection
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(config.get_main_option("sqlalchemy.url") or None),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
