"""Engine set-up and transactions: URL resolution, SQLite pragmas, retry when the database is locked."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from storage.assets import StorageError
from storage.db import database_url, is_transient, make_engine, migrate, run_in_transaction, session_scope
from storage.models import Series


def test_database_url_resolution(monkeypatch, tmp_path):
    monkeypatch.delenv("REELWRIGHT_DB", raising=False)
    monkeypatch.setenv("REELWRIGHT_HOME", str(tmp_path / "home"))
    assert database_url() == f"sqlite:///{tmp_path / 'home' / 'reelwright.db'}"
    monkeypatch.setenv("REELWRIGHT_DB", "postgresql+psycopg2://u@h/db")
    assert database_url() == "postgresql+psycopg2://u@h/db"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(StorageError, match="not a database URL") as err:
        database_url("reelwright.db")
    assert err.value.field == "--db" and "sqlite:///" in err.value.hint


def test_sqlite_pragmas_and_folder_creation(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'deep' / 'er' / 'r.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
    engine.dispose()
    assert (tmp_path / "deep" / "er" / "r.db").is_file()


def test_write_retries_while_another_process_holds_the_lock(tmp_path):
    path = tmp_path / "locked.db"
    url = f"sqlite:///{path}"
    migrate(url)
    engine = make_engine(url, busy_timeout_ms=20)  # give up waiting quickly, so the retry loop is exercised
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")  # another process writing
    release = threading.Timer(0.4, lambda: holder.execute("COMMIT"))
    release.start()
    attempts = []

    def work(session):
        attempts.append(time.monotonic())
        session.add(Series(title="Locked Out"))
        session.flush()
        return "stored"

    try:
        assert run_in_transaction(engine, work, write=True, attempts=12) == "stored"
    finally:
        release.join()
        holder.close()
    assert len(attempts) >= 2, "the first attempt should have met the lock"
    with session_scope(engine) as s:
        assert s.scalars(select(Series.id).where(Series.title == "Locked Out")).all() != []
    with pytest.raises(OperationalError) as err:  # a non-transient error is raised at once, not retried
        run_in_transaction(engine, lambda s: s.execute(text("SELECT * FROM no_such_table")))
    assert not is_transient(err.value)
    engine.dispose()
