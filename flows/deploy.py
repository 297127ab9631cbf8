"""Deployments, declared in one place: what runs on a schedule, on a trigger, or on demand from the dashboard.

``reelwright deploy`` serves them from this process (a Prefect server must be configured: PREFECT_API_URL).
``trigger`` starts a deployment run from any other process (the CLI, the dashboard) when a server is configured.
"""

from __future__ import annotations

import os
from datetime import timedelta

from schemas.errors import ConfigError

FEEDBACK_EVENT = "reelwright.feedback.recorded"
NIGHTLY = "0 2 * * *"
WEEKLY = "0 3 * * 0"

RENDER_EPISODE = "render_episode/render-episode"
RENDER_SEASON = "render_season/render-season-nightly"
RETRAIN = "retrain_from_feedback/retrain-weekly"


def server_configured() -> bool:
    return bool(os.environ.get("PREFECT_API_URL"))


def deployments(season_dir: str | None = None, season_out: str | None = None, feedback_threshold: int = 50) -> list:
    """The RunnerDeployments: on-demand episode renders, the nightly season render and weekly/triggered retraining."""
    from prefect.events import DeploymentEventTrigger

    from flows.render_episode import render_episode
    from flows.render_season import render_season
    from flows.retrain_from_feedback import retrain_from_feedback

    result = [render_episode.to_deployment(name="render-episode", tags=["reelwright"])]
    if season_dir:
        result.append(
            render_season.to_deployment(
                name="render-season-nightly", cron=NIGHTLY, tags=["reelwright"],
                parameters={"folder": season_dir, "out": season_out or os.path.join(season_dir, "renders")},
            )
        )  # fmt: skip
    result.append(
        retrain_from_feedback.to_deployment(
            name="retrain-weekly", cron=WEEKLY, tags=["reelwright"],
            triggers=[
                DeploymentEventTrigger(
                    name="enough-new-feedback", expect={FEEDBACK_EVENT}, threshold=feedback_threshold,
                    within=timedelta(days=7),
                )
            ],
        )
    )  # fmt: skip
    return result


def serve_all(season_dir: str | None = None, season_out: str | None = None, feedback_threshold: int = 50, limit: int | None = None) -> None:
    if not server_configured():
        raise ConfigError(
            "no Prefect server is configured",
            hint="start one with `prefect server start` and set PREFECT_API_URL=http://127.0.0.1:4200/api",
        )
    from prefect import serve

    serve(*deployments(season_dir, season_out, feedback_threshold), limit=limit, print_starting_message=False)


def trigger(name: str, parameters: dict, *, wait: bool = False, timeout: float | None = None) -> dict:
    """Start a run of deployment ``name``; returns its id and state (waits for completion when ``wait``)."""
    if not server_configured():
        raise ConfigError("no Prefect server is configured", hint="set PREFECT_API_URL or run in-process")
    from prefect.deployments import run_deployment
    from prefect.exceptions import ObjectNotFound

    try:
        run = run_deployment(name, parameters=parameters, timeout=timeout if wait else 0, as_subflow=False)
    except ObjectNotFound:
        raise ConfigError(
            f"deployment {name!r} was not found on the Prefect server at {os.environ.get('PREFECT_API_URL')}",
            hint="serve the deployments with `reelwright deploy` (same PREFECT_API_URL) and try again",
        ) from None
    return {"id": str(run.id), "state": run.state.name if run.state else None}


def emit_feedback_event(feedback_id: int, kind: str = "rating") -> None:
    """Tell Prefect one more piece of feedback arrived (counts toward the retraining trigger); no-op without a server."""
    if not server_configured():
        return
    from prefect.events import emit_event

    emit_event(event=FEEDBACK_EVENT, resource={"prefect.resource.id": f"reelwright.feedback.{feedback_id}", "kind": kind})
