"""dataset / retrain commands: the feedback → dataset → model loop.

    reelwright dataset build --out data/ds1 [--since 2026-11-20] [--db URL]   # manifest + masks, registered
    reelwright retrain [--db URL] [--steps 200] [--if-new-feedback 50]        # fine-tune, evaluate, decide

Both print JSON. ``retrain --if-new-feedback N`` exits 0 with a message (and starts nothing) when fewer than
``N`` feedback rows arrived since the last successful training run.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from flows.cli_dashboard import DB_HELP

dataset_app = typer.Typer(help="Training datasets built from producer feedback.", no_args_is_help=True)


@dataset_app.command("build")
def dataset_build(
    out: Path = typer.Option(..., "--out", help="dataset directory (manifest.jsonl, masks/, dataset.json)"),
    since: str | None = typer.Option(None, "--since", help="only feedback from this ISO date/time on (UTC)"),
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    min_margin: float = typer.Option(
        1.0,
        "--min-margin",
        min=0.01,
        help="score difference two takes of a shot need to form a preference pair",
    ),
    copy_media: bool = typer.Option(
        False, "--copy-media", help="copy take files into DIR/media (else reference)"
    ),
) -> None:
    """Positives, negatives, preference pairs and region/time masks from the feedback DB (registered)."""
    from storage.db import database_url
    from tasks.datasets.build import build_and_register

    built = build_and_register(
        database_url(db), out, since=since, min_margin=min_margin, copy_media=copy_media
    )
    typer.echo(json.dumps(built.as_dict(), indent=2))


def retrain(
    db: str | None = typer.Option(None, "--db", help=DB_HELP),
    steps: int = typer.Option(200, "--steps", min=1, help="fine-tuning optimizer steps"),
    if_new_feedback: int = typer.Option(
        0,
        "--if-new-feedback",
        min=0,
        help="skip unless at least N feedback rows arrived since the last training run",
    ),
    base: Path | None = typer.Option(
        None, "--base", help="checkpoint to start from (default: promoted, else shipped)"
    ),
    out: Path | None = typer.Option(
        None, "--out", help="run directory (default $REELWRIGHT_HOME/models/retrain-…)"
    ),
    since: str | None = typer.Option(None, "--since", help="only feedback from this ISO date/time on"),
    eval_prompts: int = typer.Option(
        48, "--eval-prompts", min=2, help="held-out prompts for parent and child"
    ),
    eval_steps: int | None = typer.Option(
        None, "--eval-steps", min=1, help="sampler steps (default: checkpoint's)"
    ),
    beta: float = typer.Option(50.0, "--beta", min=0.0, help="Diffusion-DPO temperature"),
) -> None:
    """Build the dataset, fine-tune, evaluate parent and child, register the child (promoted if better)."""
    from storage.db import database_url
    from tasks.datasets.retrain import count_new_feedback, resolve_base

    url = database_url(db)
    resolve_base(url, str(base) if base else None)  # a missing checkpoint fails before anything starts
    if if_new_feedback > 0:
        fresh = count_new_feedback(url)
        if fresh.count < if_new_feedback:
            since_run = (
                f"training run {fresh.last_run_id}"
                if fresh.last_run_id
                else "the start (no training run yet)"
            )
            typer.echo(
                f"skipped: {fresh.count} new feedback rows since {since_run}, fewer than "
                f"--if-new-feedback {if_new_feedback}; nothing was trained"
            )
            return
    from flows.retrain_from_feedback import retrain_from_feedback

    summary = retrain_from_feedback(
        db=url,
        base=str(base) if base else None,
        steps=steps,
        out=str(out) if out else None,
        min_new_feedback=if_new_feedback,
        since=since,
        eval_prompts=eval_prompts,
        eval_steps=eval_steps,
        beta=beta,
    )
    typer.echo(json.dumps(summary, indent=2, default=str))


def register(app: typer.Typer) -> None:
    app.add_typer(dataset_app, name="dataset")
    app.command("retrain")(retrain)
