from __future__ import annotations

import pytest

from tests.storage.dbs import BACKENDS, temporary_database


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh, empty database per test: SQLite, and PostgreSQL when reachable (skipped otherwise)."""
    with temporary_database(request.param, tmp_path) as url:
        yield url
