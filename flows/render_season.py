"""render_season: every episode script in a season folder, each into its own output folder.

One bad script fails alone: the season run reports it and renders the rest. Voices are cast once per series and
stored, so characters sound the same in every episode.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from flows.render_episode import render_episode
from schemas.errors import ConfigError, ReelwrightError

SCRIPT_SUFFIXES = (".fountain", ".spmd", ".md", ".txt", ".yaml", ".yml", ".json")


def season_scripts(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError("no such season folder", file=folder, hint="pass a folder of episode scripts")
    scripts = sorted(p for p in folder.iterdir() if p.suffix.lower() in SCRIPT_SUFFIXES and not p.name.startswith("."))
    scripts = [p for p in scripts if not p.name.endswith((".plan.json", ".series.yaml")) and p.name != "series.yaml"]
    if not scripts:
        raise ConfigError("the season folder has no scripts", file=folder, hint=f"add files ending in {', '.join(SCRIPT_SUFFIXES)}")
    return scripts


@flow(name="render_season", validate_parameters=True)
def render_season(folder: str, out: str, backend: str = "animatic", db: str | None = None, cache: str | None = None) -> dict:
    """Render each script of ``folder`` into ``out/<script stem>/``; returns per-episode results and failures."""
    bible = Path(folder) / "series.yaml"
    results, failures = {}, {}
    for script in season_scripts(folder):
        try:
            summary = render_episode(
                script=str(script), out=str(Path(out) / script.stem), backend=backend, db=db, cache=cache,
                bible=str(bible) if bible.is_file() else None,
            )  # fmt: skip
            results[script.name] = {k: v for k, v in summary.items() if k != "takes"}
        except ReelwrightError as err:
            failures[script.name] = str(err)
    return {"rendered": results, "failed": failures}
