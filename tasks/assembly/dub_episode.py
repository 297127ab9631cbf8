"""Dub a rendered episode into another language: new dialogue over the M&E stem, picture stream-copied.

Reads what ``render`` delivered (plan.json, timing.json, casting.json, stems/me.wav, episode.mp4); shot lengths
are kept, each translated line is fitted into its original slot (tasks.audio.dub), lines that cannot fit are
reported. Writes ``episode.<lang>.mp4``, ``episode.<lang>.srt/.vtt``, ``stems/dialogue.<lang>.wav`` and
``dub.<lang>.json`` atomically.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from schemas.errors import ConfigError
from schemas.generate import SpokenLine, WordTiming
from schemas.plan import ShotPlan
from tasks.media.files import atomic_path, write_text_atomic
from tasks.media.ffmpeg import run_ffmpeg

REQUIRED = ("plan.json", "timing.json", "casting.json", "stems/me.wav", "episode.mp4")


def _load(render_dir: Path) -> tuple[ShotPlan, dict, dict]:
    missing = [name for name in REQUIRED if not (render_dir / name).is_file()]
    if missing:
        raise ConfigError(
            f"not a complete render folder (missing {', '.join(missing)})", file=render_dir,
            hint="pass the --out folder of a finished `reelwright render`",
        )  # fmt: skip
    plan = ShotPlan.model_validate_json((render_dir / "plan.json").read_text(encoding="utf-8"))
    timing = json.loads((render_dir / "timing.json").read_text(encoding="utf-8"))
    casting = json.loads((render_dir / "casting.json").read_text(encoding="utf-8"))
    return plan, timing, casting


def dub_episode(render_dir: str | Path, lang: str, *, sidecar: str | Path | None = None, tts: str = "espeak") -> dict:
    from tasks.assembly.subtitles import cues_from_lines, write_srt, write_vtt
    from tasks.audio.casting import voice_from_dict
    from tasks.audio.dub import DubLine, dialogue_track, dub_lines, find_sidecar, line_translations, unfit
    from tasks.audio.mix import mix_episode
    from tasks.audio.wav import read_wav, write_wav

    render_dir = Path(render_dir)
    plan, timing, casting_raw = _load(render_dir)
    casting = {
        name: voice_from_dict(v, file=render_dir / "casting.json", field=name) for name, v in casting_raw.items()
    }
    planned = [line for shot in plan.shots() for line in shot.dialogue]
    placed_lines = timing["lines"]
    if len(planned) != len(placed_lines):
        raise ConfigError(
            f"plan.json has {len(planned)} lines but timing.json {len(placed_lines)}", file=render_dir,
            hint="re-render the episode; the folder was edited after rendering",
        )  # fmt: skip
    if sidecar is None and plan.source:
        sidecar = find_sidecar(plan.source, lang)
    texts = line_translations(planned, lang, sidecar=sidecar)
    jobs = [
        DubLine(text=text, start_sample=t["start_sample"], max_samples=t["slot_end_sample"] - t["start_sample"],
                character=t["character"], parenthetical=t.get("parenthetical"))
        for text, t in zip(texts, placed_lines, strict=True)
    ]  # fmt: skip
    placed = dub_lines(jobs, lang, casting, tts)
    total = int(timing["total_samples"])
    dialogue = dialogue_track(placed, total)
    me, _ = read_wav(render_dir / "stems" / "me.wav")
    me = me if me.ndim == 2 else np.repeat(me[:, None], 2, axis=1)
    # The M&E stem already carries the ducked music at its final level: add the new dialogue and re-normalise.
    result = mix_episode(dialogue, me[:total], np.zeros((total, 2), np.float32), true_peak_db=-1.5)
    stems = render_dir / "stems"
    with atomic_path(stems / f"dialogue.{lang}.wav") as tmp:
        write_wav(tmp, result.stems["dialogue"], 48_000)
    mix_path = stems / f".mix.{lang}.wav"
    with atomic_path(mix_path) as tmp:
        write_wav(tmp, result.mix, 48_000)
    out = render_dir / f"episode.{lang}.mp4"
    try:
        with atomic_path(out) as tmp:
            run_ffmpeg([
                "-i", str(render_dir / "episode.mp4"), "-i", str(mix_path), "-map", "0:v:0", "-map", "1:a:0",
                "-c:v", "copy", "-c:a", "aac", "-b:a", "192k", "-ar", "48000", "-ac", "2",
                "-movflags", "+faststart", "-metadata:s:a:0", f"language={lang}", "-f", "mp4", str(tmp),
            ])  # fmt: skip
    finally:
        mix_path.unlink(missing_ok=True)
    spoken = [
        SpokenLine(
            character=p.character, text=p.text, lang=lang, audio="", start_sample=p.start_sample, samples=p.samples,
            words=tuple(WordTiming(text=w.text, start=w.start, end=w.end) for w in p.speech.words),
        )
        for p in placed
    ]  # fmt: skip
    cues = cues_from_lines(spoken, shot_offset_samples=0, fps=plan.fps, lang=lang)
    write_srt(cues, render_dir / f"episode.{lang}.srt", fps=plan.fps)
    write_vtt(cues, render_dir / f"episode.{lang}.vtt", fps=plan.fps)
    report = {
        "lang": lang, "lines": len(placed), "sped_up": sum(1 for p in placed if p.rate_scale > 1.0),
        "unfit": unfit(placed), "integrated_lufs": round(result.integrated_lufs, 2),
        "true_peak_dbtp": round(result.true_peak_dbtp, 2), "episode": str(out),
    }  # fmt: skip
    write_text_atomic(render_dir / f"dub.{lang}.json", json.dumps(report, ensure_ascii=False, indent=2))
    return report
