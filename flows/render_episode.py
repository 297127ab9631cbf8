"""render_episode: script → plan → voices → shots (+ score) → mix → assembled, QC'd vertical episode.

The flow only composes. Every task's output is content-addressed in the asset store, so an unchanged script
does no generation work, an edited line re-renders only its shot, and a killed run resumes where it stopped.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from flows.progress import emit
from flows.transient import retry_if_transient
from tasks import pipeline as p

TASK = {"cache_policy": NO_CACHE, "persist_result": False}
RETRY = {**TASK, "retries": 2, "retry_delay_seconds": 2, "retry_condition_fn": retry_if_transient}

prepare = task(p.prepare, name="prepare", **TASK)
voice = task(p.voice, name="voice-line", **RETRY)
fit = task(p.fit, name="fit-timing", **TASK)
score = task(p.score, name="score", **TASK)
render_shot = task(p.render, name="render-shot", **RETRY)
mix = task(p.mix, name="mix", **TASK)
assemble = task(p.assemble, name="assemble", **TASK)
finish = task(p.finish, name="deliver", **TASK)
record = task(p.record, name="record-run", **RETRY)


@flow(name="render_episode", task_runner=ThreadPoolTaskRunner(max_workers=2), validate_parameters=True)
def render_episode(
    script: str,
    out: str,
    backend: str = "animatic",
    backend_option: str | None = None,
    plan: str | None = None,
    retakes: dict[str, int] | None = None,
    cache: str | None = None,
    db: str | None = None,
    bible: str | None = None,
    music: str | None = None,
    tts: str = "espeak",
    size: str = "1080x1920",
) -> dict:
    """Render ``script`` into ``out``/episode.mp4 (+ srt, vtt, cover, plan.json, qc.json, stems/)."""
    job = prepare(script, out, backend, backend_option, plan, retakes or {}, cache, bible, db, tts, music, size)
    emit("plan", status="done", detail=f"{len(job.plan.shots())} shots in {len(job.plan.scenes)} scenes")

    lines = [(shot.id, i) for shot in job.plan.shots() for i in range(len(shot.dialogue))]
    emit("voice", status="start", total=len(lines))
    voiced_futures = {k: voice.submit(job, k) for k in lines}
    voiced = {k: f.result() for k, f in voiced_futures.items()}

    timing = fit(job, voiced)
    music_future = score.submit(job, timing)
    emit("shot", status="start", total=len(timing.requests))
    shot_futures = [render_shot.submit(job, request, timing) for request in timing.requests]
    shots = [f.result() for f in shot_futures]
    soundtrack = mix(job, timing, voiced, shots, music_future.result())
    episode = assemble(job, shots, soundtrack)
    summary = finish(job, timing, voiced, shots, soundtrack, episode)
    record(job, summary)
    return summary


def render_from_cli(**params) -> dict:
    """Entry point used by the CLI and the dashboard: runs the flow in this process."""
    out = Path(params["out"])
    return render_episode(**{**params, "out": str(out)})
