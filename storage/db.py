"""Connecting to the run/feedback database: URL, engine, migrations, sessions, transactions with retry.

The embedded default is SQLite at ``<REELWRIGHT_HOME or ./.reelwright>/reelwright.db``; ``REELWRIGHT_DB``
(or an explicit URL) selects anything SQLAlchemy speaks, e.g. ``postgresql+psycopg2://user@host/db``.

SQLite is set up to hold under concurrent writers: WAL (readers never block the writer), foreign keys on,
a busy timeout, and write transactions that start with ``BEGIN IMMEDIATE`` so two writers queue on the lock
instead of both reading and then failing to upgrade (the classic "database is locked" that no busy timeout
can fix). :func:`run_in_transaction` retries a unit of work on the transient errors that remain (lock
timeouts, PostgreSQL serialization failures and deadlocks).

Sessions are created here, at the boundary (CLI, API request, flow); repositories only receive them.
"""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.assets import StorageError

T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE_OPTION = "reelwright_write"


def reelwright_home() -> Path:
    return Path(os.environ.get("REELWRIGHT_HOME") or Path.cwd() / ".reelwright")


def database_url(explicit: str | None = None) -> str:
    """The database URL: ``explicit``, else ``$REELWRIGHT_DB``, else SQLite under ``$REELWRIGHT_HOME``."""
    url = explicit or os.environ.get("REELWRIGHT_DB")
    if not url:
        return f"sqlite:///{reelwright_home() / 'reelwright.db'}"
    try:
        make_url(url)
    except ArgumentError:
        raise StorageError(
            f"{url!r} is not a database URL",
            field="--db" if explicit else "REELWRIGHT_DB",
            hint="use e.g. sqlite:///path/to/reelwright.db or postgresql+psycopg2://user@127.0.0.1:5432/reelwright",
        ) from None
    return url


def _sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    if parsed.database.startswith("file:"):
        return None
    return Path(parsed.database)


def make_engine(url: str | None = None, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS, **kwargs) -> Engine:
    """An engine for ``url`` (see :func:`database_url`); SQLite gets WAL, foreign keys and a busy timeout."""
    url = database_url(url)
    parsed = make_url(url)
    is_sqlite = parsed.get_backend_name() == "sqlite"
    if is_sqlite:
        path = _sqlite_file(url)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the database folder {path.parent}: {exc.strerror}",
                    hint="set REELWRIGHT_HOME or REELWRIGHT_DB to a writable location",
                ) from None
        connect_args = kwargs.pop("connect_args", {})
        connect_args.setdefault("timeout", busy_timeout_ms / 1000)
        connect_args.setdefault("check_same_thread", False)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, busy_timeout_ms)
    else:
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
    return engine


# One in-process mutex per SQLite engine for write transactions. SQLite admits one writer at a time anyway;
# queueing on a mutex hands the lock straight to the next thread, where waiting in SQLite's busy handler
# sleeps in growing steps (up to 100 ms) and leaves the database idle. Other processes still meet the busy
# timeout.
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    _WRITE_LOCKS[engine] = threading.RLock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # noqa: ANN001 - DB-API connection
        # Take transaction control away from the sqlite3 module; "begin" below emits BEGIN itself.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # noqa: ANN001 - Connection
        write = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_FACTORIES: weakref.WeakKeyDictionary[Engine, dict[bool, sessionmaker[Session]]] = weakref.WeakKeyDictionary()


def session_factory(engine: Engine, *, write: bool = False) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; ``write=True`` ones begin with ``BEGIN IMMEDIATE`` on SQLite."""
    factories = _FACTORIES.setdefault(engine, {})
    factory = factories.get(write)
    if factory is None:
        bind = engine.execution_options(**{_WRITE_OPTION: True}) if write else engine
        factory = factories[write] = sessionmaker(bind=bind, expire_on_commit=False)
    return factory


@contextlib.contextmanager
def session_scope(engine: Engine, *, write: bool = False) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on error.

    ``write=True`` takes SQLite's write lock up front (``BEGIN IMMEDIATE``): use it for units of work
    that write.
    """
    lock = _WRITE_LOCKS.get(engine) if write else None
    with lock if lock is not None else contextlib.nullcontext():
        session = session_factory(engine, write=write)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def is_transient(exc: BaseException) -> bool:
    """True for errors a retry can fix: SQLite lock/busy, PostgreSQL serialization failures and deadlocks."""
    if isinstance(exc, OperationalError):
        message = str(exc.orig).lower() if exc.orig is not None else str(exc).lower()
        if (
            "database is locked" in message
            or "database is busy" in message
            or "database table is locked" in message
        ):
            return True
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        code = getattr(exc.orig, "pgcode", None)
        if code in _TRANSIENT_SQLSTATES:
            return True
    return False


def run_in_transaction(
    engine: Engine,
    work: Callable[[Session], T],
    *,
    write: bool = False,
    attempts: int = 8,
) -> T:
    """Run ``work(session)`` in one transaction, retrying the whole unit on transient errors.

    ``work`` must be safe to repeat (it is, when it only talks to the database through the session).
    """
    delay = 0.02
    for attempt in range(1, attempts + 1):
        try:
            with session_scope(engine, write=write) as session:
                return work(session)
        except DBAPIError as exc:
            if attempt == attempts or not is_transient(exc):
                raise
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
    raise AssertionError("unreachable")


# ------------------------------------------------------------------------------------------------- migrations

_migrate_lock = threading.Lock()
_PG_LOCK_KEY = zlib.crc32(b"reelwright-migrate")


def alembic_config(url: str):  # noqa: ANN201 - alembic.config.Config, imported lazily
    from alembic.config import Config

    cfg = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.is_file() else Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logging"] = False
    return cfg


def _run_alembic(url: str, command_name: str, revision: str) -> None:
    from alembic import command

    engine = make_engine(url)
    try:
        # One transaction holds a lock for the whole upgrade, so processes that start together run it once:
        # SQLite's write lock (BEGIN IMMEDIATE) or a PostgreSQL transaction-level advisory lock.
        with engine.execution_options(**{_WRITE_OPTION: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
            cfg = alembic_config(url)
            cfg.attributes["connection"] = conn
            getattr(command, command_name)(cfg, revision)
    except OperationalError as exc:
        raise StorageError(
            f"cannot migrate the database {make_url(url).render_as_string(hide_password=True)}: {exc.orig}",
            hint="check that the server is running and the URL (REELWRIGHT_DB / --db) is right",
        ) from None
    finally:
        engine.dispose()


@contextlib.contextmanager
def _migration_lock(url: str):
    """Serialise migrations of one database across threads and processes.

    PostgreSQL is serialised by the advisory lock in :func:`_run_alembic`. A SQLite file also gets a lock file
    beside it: two processes that open a *new* file together race while it turns into WAL, and SQLite answers
    one of them "database is locked" at once, without waiting out the busy timeout (seen about once in 12
    concurrent starts).
    """
    path = _sqlite_file(url)
    with _migrate_lock:
        if path is None:
            yield
            return
        from filelock import FileLock, Timeout

        try:
            with FileLock(f"{path}.migrate-lock", timeout=SQLITE_BUSY_TIMEOUT_MS / 1000 * 4):
                yield
        except Timeout:
            raise StorageError(
                f"another process has been migrating {path} for over {SQLITE_BUSY_TIMEOUT_MS * 4 // 1000} s",
                hint=f"stop the other Reelwright process, or delete {path}.migrate-lock if none is running",
            ) from None


def migrate(url: str | None = None, *, revision: str = "head") -> None:
    """Upgrade the database to ``revision`` (default: the newest).

    Idempotent and safe under concurrent starts.
    """
    url = database_url(url)
    with _migration_lock(url):
        _run_alembic(url, "upgrade", revision)


def downgrade(url: str | None, revision: str) -> None:
    """Downgrade to ``revision`` (``"base"`` drops every table)."""
    url = database_url(url)
    with _migration_lock(url):
        _run_alembic(url, "downgrade", revision)


def current_revision(url: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head
