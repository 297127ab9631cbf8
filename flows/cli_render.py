"""``reelwright render``, ``plan`` and ``validate``."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import typer

from schemas.errors import ConfigError


def _up_to_date_key(script: Path, plan: Path | None, options: dict) -> str:
    from storage.assets import code_version, content_key

    return content_key(
        "render-request", script.read_bytes().hex() if script.is_file() else str(script),
        plan.read_bytes().hex() if plan and plan.is_file() else None, options,
        code_version("tasks", "schemas", "flows", "storage"),
    )  # fmt: skip


def _stamp_path(out: Path) -> Path:
    return out / ".reelwright-render.json"


def _is_up_to_date(out: Path, key: str) -> dict | None:
    """The previous summary when ``out`` already holds the delivery for exactly this request."""
    stamp = _stamp_path(out)
    episode = out / "episode.mp4"
    if not (stamp.is_file() and episode.is_file()):
        return None
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    st = episode.stat()
    if data.get("key") != key or data.get("size") != st.st_size or data.get("mtime_ns") != st.st_mtime_ns:
        return None
    return data.get("summary")


class _Display:
    """A per-stage, per-shot progress display on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[last]}"),
            TimeElapsedColumn(), console=self.console, transient=False,
        )  # fmt: skip
        self.bars: dict[str, int] = {}
        self.started = time.perf_counter()

    def __call__(self, event) -> None:  # noqa: ANN001 - flows.progress.Event
        if event.status == "start" and not event.item:
            if event.total:
                self.bars[event.stage] = self.progress.add_task(event.stage, total=event.total, last="")
            return
        if event.stage in self.bars:
            if event.status in ("done", "cached"):
                label = f"{event.item} {'(cached)' if event.status == 'cached' else event.detail}"
                self.progress.update(self.bars[event.stage], advance=1, last=label)
            return
        if event.status != "start":
            elapsed = time.perf_counter() - self.started
            self.progress.console.print(f"  {elapsed:6.1f}s  {event.stage:<9} {event.status:<7} {event.detail}")


def render(
    script: Path | None = typer.Argument(None, help="The episode script (.fountain, Chinese .md/.txt, .yaml/.json)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output directory (created if missing)."),
    backend: str = typer.Option("animatic", help="Generation backend: animatic | mmdit | remote."),
    backend_option: str | None = typer.Option(None, help="mmdit: checkpoint dir; remote: server URL."),
    plan: Path | None = typer.Option(None, help="Render an edited plan.json (from `reelwright plan`)."),
    retake: list[str] = typer.Option([], help="SHOT_ID=N: re-render a shot as take N (new seed). Repeatable."),
    cache: Path | None = typer.Option(None, help="Asset store directory (default .reelwright/assets or $REELWRIGHT_CACHE)."),
    db: str | None = typer.Option(None, help="Run database URL (default $REELWRIGHT_DB or .reelwright/reelwright.db)."),
    record: bool = typer.Option(True, help="Record the render, its takes and the casting in the run database."),
    bible: Path | None = typer.Option(None, help="Series bible YAML with voice casting."),
    music: Path | None = typer.Option(None, help="Use this music track instead of the generated score."),
    size: str = typer.Option("1080x1920", help="Frame size WIDTHxHEIGHT (delivery default 1080x1920)."),
    force: bool = typer.Option(False, help="Run the flow even when the output is up to date."),
) -> None:
    """Render an episode: script → plan → voices, shots, score → mix → episode.mp4 with QC."""
    if script is None and plan is None:
        raise ConfigError("give a SCRIPT, or --plan plan.json", hint="reelwright render SCRIPT --out DIR")
    if script is None:
        source = json.loads(plan.read_text(encoding="utf-8")).get("source") if plan.is_file() else None
        if not source:
            raise ConfigError("the plan does not name its script (field 'source')", file=plan, hint="pass SCRIPT too")
        script = Path(source)
    if record:
        from storage.db import database_url

        db = database_url(db)
    else:
        db = None
    retakes = {}
    for item in retake:
        shot_id, _, n = item.partition("=")
        if not n.isdigit():
            raise ConfigError(f"bad --retake {item!r}", field="--retake", hint="write SHOT_ID=N, e.g. sc02-sh03=1")
        retakes[shot_id] = int(n)
    options = {
        "backend": backend, "backend_option": backend_option, "retakes": retakes, "db": db,
        "bible": str(bible) if bible else None, "music": str(music) if music else None,
        "cache": str(cache) if cache else None, "size": size,
    }  # fmt: skip
    started = time.time()
    key = _up_to_date_key(script, plan, options)
    previous = None if force else _is_up_to_date(out, key)
    if previous:
        typer.echo(f"up to date: {out / 'episode.mp4'} ({previous['shots']} shots, {previous['duration_s']:.1f} s) — nothing to do")
        return
    from tasks.pipeline import preflight

    preflight(str(script), str(out), backend, backend_option, "espeak", options["music"], size)
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")  # failures are reported as one clear message
    from flows import progress
    from flows.render_episode import render_episode

    display = _Display()
    progress.set_reporter(display)
    try:
        with display.progress:
            summary = render_episode(
                script=str(script), out=str(out), plan=str(plan) if plan else None, tts="espeak", **options
            )
    finally:
        progress.set_reporter(None)
    from tasks.media.files import write_text_atomic

    episode = Path(summary["episode"])
    st = episode.stat()
    stamp = {"key": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns, "summary": {k: v for k, v in summary.items() if k != "takes"}}
    write_text_atomic(_stamp_path(Path(summary["out"])), json.dumps(stamp, ensure_ascii=False, indent=2))
    qc = "QC passed" if summary["qc_passed"] else f"QC FAILED: {', '.join(summary['qc_failed'])}"
    typer.echo(
        f"{episode}: {summary['duration_s']:.1f} s, {summary['shots']} shots "
        f"({summary['shots_rendered']} rendered, {summary['shots_cached']} cached), "
        f"{summary['integrated_lufs']:.1f} LUFS, {summary['true_peak_dbtp']:.1f} dBTP, {qc} in {time.time() - started:.1f} s"
    )
    if not summary["qc_passed"]:
        raise typer.Exit(2)


def plan_cmd(
    script: Path = typer.Argument(..., help="The episode script."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write plan.json."),
) -> None:
    """Plan an episode into scenes and shots; edit the JSON and render it with `render --plan`."""
    from tasks.media.files import write_text_atomic
    from tasks.planning import plan_script
    from tasks.script import parse_script

    plan = plan_script(parse_script(script))
    if out.is_dir():
        out = out / "plan.json"
    write_text_atomic(out, json.dumps(plan.model_dump(mode="json"), ensure_ascii=False, indent=2))
    total = sum(s.duration for s in plan.shots())
    typer.echo(f"{out}: {len(plan.scenes)} scenes, {len(plan.shots())} shots, ~{total:.0f} s")


def validate(script: Path = typer.Argument(..., help="The script to lint.")) -> None:
    """Parse and lint a script: errors and warnings with line numbers."""
    from tasks.script import lint_file

    parsed, issues = lint_file(script)
    for issue in issues:
        typer.echo(f"{script}:{issue.line}: {issue.severity}: {issue.message}")
    errors = sum(1 for i in issues if i.severity == "error")
    warnings = len(issues) - errors
    lines = sum(1 for el in parsed.elements() if el.kind == "dialogue")
    typer.echo(
        f"{script}: {len(parsed.scenes)} scenes, {len(parsed.speakers())} speaking characters, {lines} lines; "
        f"{errors} error(s), {warnings} warning(s)",
        file=sys.stdout,
    )
    if errors:
        raise typer.Exit(1)


def dub(
    render_dir: Path = typer.Argument(..., help="A finished render's --out folder."),
    lang: str = typer.Option(..., "--lang", help="Target language, e.g. en or zh."),
    translations: Path | None = typer.Option(None, help="Sidecar translations YAML (default <script>.<lang>.yaml)."),
) -> None:
    """Dub a rendered episode: translated dialogue over the M&E stem, picture stream-copied, shot lengths kept."""
    from tasks.assembly.dub_episode import dub_episode

    report = dub_episode(render_dir, lang, sidecar=translations)
    for message in report["unfit"]:
        typer.echo(f"warning: {message}", err=True)
    typer.echo(
        f"{report['episode']}: {report['lines']} lines dubbed ({report['sped_up']} sped up, {len(report['unfit'])} too long), "
        f"{report['integrated_lufs']:.1f} LUFS"
    )


def register(app: typer.Typer) -> None:
    app.command("render")(render)
    app.command("plan")(plan_cmd)
    app.command("validate")(validate)
    app.command("dub")(dub)
