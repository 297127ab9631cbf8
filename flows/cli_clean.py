"""``reelwright clean`` and ``reelwright edit``."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def clean(
    input: Path = typer.Argument(..., help="A video file, or a folder of videos (batch)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (or output folder for a batch)."),
    watermark: str = typer.Option("auto", help="auto | none | X,Y,W,H (pixels) | mask.png (white = remove)."),
    subtitles: str = typer.Option("auto", help="auto (text strokes) | band (whole line bands) | none."),
    report: Path | None = typer.Option(None, help="Write a JSON report of what was found and removed."),
    moving: bool = typer.Option(False, help="Also look for marks that jump between positions (per-segment)."),
    passes: str = typer.Option(
        "1", help="1 | auto | 2: a second, backward pass fills what only later frames show (a caption over a "
        "whole handheld shot); auto: where the first pass had to carry or paint. It about doubles the time."
    ),
) -> None:
    """Remove watermarks, logos and burned-in subtitles; audio, timing, rotation and colour tags are kept."""
    if input.is_dir():
        from flows.clean_footage import clean_footage

        summary = clean_footage(
            str(input), str(out), watermark=watermark, subtitles=subtitles, report=True, passes=passes
        )
        for item in summary["done"]:
            typer.echo(
                f"cleaned {item['input']} → {item['output']} ({item['frames']} frames, {item['fps']} fps)"
            )
        for item in summary["failed"]:
            typer.secho(f"FAILED {item['input']}: {item['error']}", fg=typer.colors.RED, err=True)
        if report is not None:
            from tasks.media.files import write_text_atomic

            write_text_atomic(report, json.dumps(summary, indent=2, ensure_ascii=False))
        if summary["failed"]:
            raise typer.Exit(1)
        return
    from tasks.cleanup.clean import clean_video

    result = clean_video(
        input, out, watermark=watermark, subtitles=subtitles, report_path=report, moving=moving, passes=passes
    )
    det = result.detection
    found = []
    if det["static"]:
        found.append(f"{len(det['static']['boxes'])} static mark(s)")
    if det["moving"]:
        found.append(f"{len(det['moving'])} moving-mark segment(s)")
    if det["subtitles"]:
        found.append(f"{len(det['subtitles']['cues'])} subtitle cue(s)")
    typer.echo(f"cleaned {input} → {out}: {', '.join(found) or 'nothing found to remove'}; "
               f"{result.frames} frames in {result.seconds:.1f} s ({result.fps} fps)")  # fmt: skip


def edit(
    input: Path = typer.Argument(..., help="A video file, or a folder of videos (batch)."),
    edits: Path = typer.Option(
        ..., "--edits", "-e", help="The edit list (.yaml or .json), see schemas/edits.py."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output file (or output folder for a batch)."),
) -> None:
    """Apply an edit list: remove/recolor/add elements, grade, reframe, trim, retime."""
    if input.is_dir():
        from flows.apply_edits import apply_edits as apply_edits_flow

        summary = apply_edits_flow(str(input), str(edits), str(out))
        for item in summary["done"]:
            typer.echo(f"edited {item['input']} → {item['output']} ({item['frames']} frames)")
        for item in summary["failed"]:
            typer.secho(f"FAILED {item['input']}: {item['error']}", fg=typer.colors.RED, err=True)
        if summary["failed"]:
            raise typer.Exit(1)
        return
    from tasks.edits.apply import apply_edits

    result = apply_edits(input, edits, out)
    typer.echo(f"edited {input} → {out}: {', '.join(result.operations)}; {result.frames} frames "
               f"{result.width}x{result.height} in {result.seconds:.1f} s")  # fmt: skip


def register(app: typer.Typer) -> None:
    app.command("clean")(clean)
    app.command("edit")(edit)
