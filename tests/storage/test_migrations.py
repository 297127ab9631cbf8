"""Migrations: from empty to head and back on SQLite and PostgreSQL, models and migrations agree, and
processes that start together migrate once."""

from __future__ import annotations

import multiprocessing as mp

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.db import alembic_config, current_revision, downgrade, head_revision, make_engine, migrate
from storage.models import Base
from tests.storage.dbs import BACKENDS, temporary_database


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            return compare_metadata(ctx, Base.metadata)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_downgrade_round_trip(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        assert current_revision(url) is None
        migrate(url)
        assert current_revision(url) == head_revision()
        assert set(Base.metadata.tables) <= _tables(url)
        assert _diff(url) == [], "models and migrations disagree: write a migration for the model change"

        migrate(url)  # idempotent
        assert current_revision(url) == head_revision()

        downgrade(url, "base")
        assert current_revision(url) is None
        assert _tables(url) - {"alembic_version"} == set()

        # every revision steps up and down on its own
        revisions = list(reversed(list(ScriptDirectory.from_config(alembic_config(url)).walk_revisions())))
        for rev in revisions:
            migrate(url, revision=rev.revision)
            assert current_revision(url) == rev.revision
        for rev in reversed(revisions):
            downgrade(url, rev.down_revision or "base")
            assert current_revision(url) == rev.down_revision
        migrate(url)
        assert _diff(url) == []


def _migrate_in_child(url: str, queue) -> None:  # noqa: ANN001 - multiprocessing queue
    try:
        migrate(url)
        queue.put("ok")
    except Exception as exc:  # noqa: BLE001 - report to the parent
        queue.put(f"{type(exc).__name__}: {exc}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_concurrent_starts_migrate_once(backend, tmp_path):
    with temporary_database(backend, tmp_path) as url:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_migrate_in_child, args=(url, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
        results = [queue.get(timeout=5) for _ in procs]
        assert results == ["ok"] * 2
        assert current_revision(url) == head_revision()
        assert _diff(url) == []
