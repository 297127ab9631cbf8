"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database dropped afterwards.

PostgreSQL is the server on 127.0.0.1:5432 (override with ``REELWRIGHT_TEST_PG``, an admin URL to a
database we may ``CREATE DATABASE`` from). Each test session gets its own database so parallel developers
never collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("REELWRIGHT_TEST_PG", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


def pg_unreachable_reason() -> str | None:
    try:
        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "skip with the reason"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = make_url(PG_ADMIN_URL).render_as_string(hide_password=True)
        return f"PostgreSQL at {where} is unreachable: {first}"
    return None


@contextmanager
def temporary_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database of ``backend``; it is removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / f'rw-{uuid.uuid4().hex[:8]}.db'}"
        return
    reason = pg_unreachable_reason()
    if reason:
        pytest.skip(reason)
    name = f"rw_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
