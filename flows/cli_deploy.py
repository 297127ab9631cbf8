"""``reelwright deploy`` (serve the deployments) and ``reelwright trigger`` (start a deployment run)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from schemas.errors import ConfigError


def deploy(
    season_dir: Path | None = typer.Option(None, help="Season folder for the nightly render_season schedule."),
    season_out: Path | None = typer.Option(None, help="Where nightly season renders go (default SEASON_DIR/renders)."),
    feedback_threshold: int = typer.Option(50, help="New feedback events (within 7 days) that trigger retraining."),
    limit: int | None = typer.Option(None, help="Most flow runs at once in this process."),
) -> None:
    """Serve render_episode, render_season (nightly) and retrain_from_feedback (weekly + feedback trigger).

    Needs a Prefect server: `prefect server start`, then PREFECT_API_URL=http://127.0.0.1:4200/api.
    """
    from flows.deploy import serve_all

    serve_all(str(season_dir) if season_dir else None, str(season_out) if season_out else None, feedback_threshold, limit)


def trigger(
    name: str = typer.Argument(..., help="render-episode | render-season-nightly | retrain-weekly, or FLOW/DEPLOYMENT."),
    param: list[str] = typer.Option([], "--param", "-p", help="KEY=VALUE (VALUE may be JSON). Repeatable."),
    wait: bool = typer.Option(False, help="Wait for the run to finish."),
    timeout: float = typer.Option(3600, help="Seconds to wait with --wait."),
) -> None:
    """Start a run of a deployment on the configured Prefect server."""
    from flows.deploy import RENDER_EPISODE, RENDER_SEASON, RETRAIN, trigger as start

    full = {"render-episode": RENDER_EPISODE, "render-season-nightly": RENDER_SEASON, "retrain-weekly": RETRAIN}.get(name, name)
    if "/" not in full:
        raise ConfigError(f"unknown deployment {name!r}", hint="use render-episode, render-season-nightly, retrain-weekly or FLOW/DEPLOYMENT")
    params: dict = {}
    for item in param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"bad --param {item!r}", field="--param", hint="write KEY=VALUE")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    result = start(full, params, wait=wait, timeout=timeout)
    typer.echo(f"{full}: flow run {result['id']} {result['state']}")
    if wait and result["state"] != "Completed":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("deploy")(deploy)
    app.command("trigger")(trigger)
