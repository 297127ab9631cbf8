"""serve / users / db / metrics commands: the dashboard server and the run/feedback database.

    reelwright serve --host 127.0.0.1 --port 8000          # the producer dashboard (one process)
    reelwright users add mei --role producer               # prints mei's token, once
    reelwright db upgrade                                  # migrate (serve does it too)
    reelwright metrics import views.csv                    # viewer metrics straight into the database

Every command takes ``--db URL`` (default ``$REELWRIGHT_DB``, else SQLite under ``$REELWRIGHT_HOME``).
"""

from __future__ import annotations

from pathlib import Path

import typer

DB_HELP = (
    "Database URL (default $REELWRIGHT_DB, else sqlite:///<REELWRIGHT_HOME or ./.reelwright>/reelwright.db)."
)

users_app = typer.Typer(help="Dashboard users and their API tokens.", no_args_is_help=True)
db_app = typer.Typer(help="The run/feedback database schema (Alembic migrations).", no_args_is_help=True)
metrics_app = typer.Typer(help="Viewer metrics.", no_args_is_help=True)


def flow_renderer(*, backend: str, db_url: str, cache: str | None = None):  # noqa: ANN201 - the renderer callable
    """The dashboard's renderer: the ``render_episode`` flow — through its deployment when PREFECT_API_URL points
    at a Prefect server, in this process otherwise — recording into ``db_url`` (it claims the render row the
    dashboard queued through ``out_dir``)."""

    def render(script_path: str, out_dir: str, retakes: dict[str, int]) -> dict:
        from flows.deploy import RENDER_EPISODE, server_configured, trigger

        params = {"script": script_path, "out": out_dir, "backend": backend, "retakes": retakes, "db": db_url, "cache": cache}
        if server_configured():
            # A Prefect server is configured: run through the served deployment (`reelwright deploy`), so the
            # render shows up there and runs on its workers.
            result = trigger(RENDER_EPISODE, params, wait=True, timeout=6 * 3600)
            if result["state"] != "Completed":
                raise RuntimeError(f"deployment run {result['id']} ended {result['state']}")
            return result
        from flows.render_episode import render_episode

        return render_episode(**params)

    return render


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (0.0.0.0 exposes it to the network)."),
    port: int = typer.Option(8000, help="TCP port."),
    db: str | None = typer.Option(None, help=DB_HELP),
    renders: Path | None = typer.Option(  # noqa: B008
        None, help="Where dashboard renders go (default <REELWRIGHT_HOME>/renders)."
    ),
    backend: str = typer.Option("animatic", help="Generation backend for renders the dashboard starts."),
    cache: Path | None = typer.Option(None, help="Asset store directory for those renders."),  # noqa: B008
    max_body: int = typer.Option(2 * 1024 * 1024, help="Largest request body in bytes (bigger → 413)."),
    log_level: str = typer.Option("warning", help="uvicorn log level."),
) -> None:
    """Run the producer dashboard: the page at http://HOST:PORT/, the API under /api (docs at /docs)."""
    import uvicorn

    from dashboard.app import create_app
    from storage.db import database_url

    url = database_url(db)
    app = create_app(
        url,
        renderer=flow_renderer(backend=backend, db_url=url, cache=str(cache) if cache else None),
        renders_dir=renders,
        backend=backend,
        max_body_bytes=max_body,
    )
    typer.echo(f"Reelwright dashboard on http://{host}:{port}/  (database {_safe(url)})", err=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _engine(db: str | None):  # noqa: ANN202 - Engine
    from storage.db import database_url, make_engine, migrate

    url = database_url(db)
    migrate(url)
    return make_engine(url)


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The user's name (unique)."),
    role: str = typer.Option("producer", help="producer | analyst | ingester | admin."),
    db: str | None = typer.Option(None, help=DB_HELP),
) -> None:
    """Create a user and print their API token (shown only now; it is stored hashed)."""
    from storage.db import session_scope
    from storage.repositories.users import create_user

    engine = _engine(db)
    with session_scope(engine, write=True) as session:
        user, token = create_user(session, name, role, label="reelwright users add")
        user_id = user.id
    engine.dispose()
    typer.echo(f"created {role} {name!r} (id {user_id}); their token, shown once:", err=True)
    typer.echo(token)


@users_app.command("token")
def users_token(
    name: str = typer.Argument(..., help="An existing user."),
    db: str | None = typer.Option(None, help=DB_HELP),
) -> None:
    """Issue another token for a user and print it (their other tokens keep working)."""
    from storage.db import session_scope
    from storage.repositories.users import issue_token, user_by_name

    engine = _engine(db)
    with session_scope(engine, write=True) as session:
        token = issue_token(session, user_by_name(session, name).id, label="reelwright users token")
    engine.dispose()
    typer.echo(token)


@users_app.command("revoke")
def users_revoke(
    name: str = typer.Argument(..., help="The user whose tokens to revoke."),
    db: str | None = typer.Option(None, help=DB_HELP),
) -> None:
    """Revoke every token of a user (a running dashboard forgets them within seconds)."""
    from storage.db import session_scope
    from storage.repositories.users import revoke_tokens

    engine = _engine(db)
    with session_scope(engine, write=True) as session:
        count = revoke_tokens(session, name)
    engine.dispose()
    typer.echo(f"revoked {count} token(s) of {name!r}")


@users_app.command("list")
def users_list(db: str | None = typer.Option(None, help=DB_HELP)) -> None:
    """List users and roles."""
    from storage.db import session_scope
    from storage.repositories.users import list_users

    engine = _engine(db)
    with session_scope(engine) as session:
        rows = [(u.id, u.name, u.role, u.disabled) for u in list_users(session)]
    engine.dispose()
    for user_id, name, role, disabled in rows:
        typer.echo(f"{user_id:>4}  {name:<24} {role:<9}{'  (disabled)' if disabled else ''}")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Option("head", help="Target revision."),
    db: str | None = typer.Option(None, help=DB_HELP),
) -> None:
    """Migrate the database up (idempotent; safe while other processes start)."""
    from storage.db import current_revision, database_url, migrate

    url = database_url(db)
    migrate(url, revision=revision)
    typer.echo(f"{_safe(url)} is at revision {current_revision(url)}")


@db_app.command("downgrade")
def db_downgrade(
    revision: str = typer.Argument(..., help="Target revision, e.g. 0001, or base (drops every table)."),
    db: str | None = typer.Option(None, help=DB_HELP),
    yes: bool = typer.Option(False, "--yes", help="Confirm: downgrading drops tables and their rows."),
) -> None:
    """Migrate the database down (drops the tables of the later revisions)."""
    from schemas.errors import ConfigError
    from storage.db import current_revision, database_url, downgrade

    if not yes:
        raise ConfigError("downgrading deletes data", field="--yes", hint="repeat the command with --yes")
    url = database_url(db)
    downgrade(url, revision)
    typer.echo(f"{_safe(url)} is at revision {current_revision(url)}")


@db_app.command("current")
def db_current(db: str | None = typer.Option(None, help=DB_HELP)) -> None:
    """Print the database's revision and the newest one."""
    from storage.db import current_revision, database_url, head_revision

    url = database_url(db)
    typer.echo(f"{_safe(url)}: revision {current_revision(url) or '(empty)'}; newest {head_revision()}")


@metrics_app.command("import")
def metrics_import(
    path: Path = typer.Argument(  # noqa: B008
        ..., exists=True, dir_okay=False, help="A .csv or .jsonl file of viewer metrics."
    ),
    format: str | None = typer.Option(
        None, "--format", help="csv or jsonl (default: from the file extension)."
    ),
    db: str | None = typer.Option(None, help=DB_HELP),
) -> None:
    """Store viewer metrics from a file (one row per episode, source and day; re-importing replaces)."""
    from storage.db import session_scope
    from storage.repositories.metrics import ingest, parse_records

    fmt = format or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    records = parse_records(path.read_text(encoding="utf-8-sig"), fmt, source_name=str(path))
    engine = _engine(db)
    with session_scope(engine, write=True) as session:
        stored = len(ingest(session, records, user_id=None, field_prefix=str(path)))
    engine.dispose()
    typer.echo(f"stored {stored} viewer-metrics row(s) from {path}")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    app.add_typer(db_app, name="db")
    app.add_typer(metrics_app, name="metrics")
