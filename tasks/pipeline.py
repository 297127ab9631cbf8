"""The episode pipeline's steps as plain functions (the Prefect flow wraps each one as a task).

Each step takes the frozen :class:`Job` (the validated parameters plus the parsed script, plan and casting) and
typed results of earlier steps, and returns a small typed record; heavy outputs live in the asset store under
content keys, so re-running a step with the same inputs does no work.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping, Sequence
from fractions import Fraction
from dataclasses import asdict, dataclass, field
from pathlib import Path

from schemas.errors import ConfigError
from schemas.generate import ShotRequest
from schemas.media import AudioArtifact, ShotArtifact, VoicedLine
from schemas.plan import ShotPlan
from schemas.script import Script
from storage.assets import LocalAssetStore, default_store_root
from tasks.planning.timing import TimedShot

LineKey = tuple[str, int]


@dataclass(frozen=True)
class Job:
    script_path: str
    script_text: str
    script: Script
    plan: ShotPlan
    casting: Mapping[str, object]
    out: str
    store_root: str
    backend: str
    backend_option: str | None
    db: str | None
    tts: str
    music: str | None
    retakes: Mapping[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    @property
    def store(self) -> LocalAssetStore:
        return LocalAssetStore(self.store_root)


@dataclass(frozen=True)
class Timing:
    timed: Mapping[str, TimedShot]
    requests: tuple[ShotRequest, ...]
    offsets: tuple[int, ...]  # sample offset of each shot in the episode
    total_samples: int
    scene_samples: tuple[int, ...]


def _load_plan(path: str) -> ShotPlan:
    from pydantic import ValidationError

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("no such plan file", file=path, hint="write one with `reelwright plan SCRIPT --out plan.json`") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"is not valid JSON: {exc.msg}", file=path, line=exc.lineno, column=exc.colno) from None
    try:
        return ShotPlan.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(
            f"{err['msg']} ({len(exc.errors())} problem(s) in all)", file=path, field=loc,
            hint="fix the field, or regenerate the plan with `reelwright plan`",
        ) from None


def prepare(
    script_path: str,
    out: str,
    backend: str,
    backend_option: str | None,
    plan_path: str | None,
    retakes: Mapping[str, int],
    cache: str | None,
    bible: str | None,
    db: str | None,
    tts: str,
    music: str | None,
    size: str = "1080x1920",
) -> Job:
    """Validate everything up front (output dir, backend, TTS, font, music file), parse, plan and cast."""
    from tasks.audio.casting import cast_voices, load_bible
    from tasks.planning import plan_script

    out_dir, path, text, script = preflight(script_path, out, backend, backend_option, tts, music, size)
    width, height = parse_size(size)
    plan = _load_plan(plan_path) if plan_path else plan_script(script, retakes=dict(retakes), width=width, height=height)
    bible_obj = load_bible(bible) if bible else None
    previous = _stored_casting(db, script.title) if db else None
    casting = cast_voices(_cast_list(script, plan), script.language, bible=bible_obj, previous=previous)
    from tasks.audio.tts import check_voices, get_engine

    check_voices(get_engine(tts), casting)  # a bad voice in the bible stops the run here, naming the character
    store_root = str(Path(cache).expanduser() if cache else default_store_root())
    LocalAssetStore(store_root)  # raises a clear error when it cannot be created
    return Job(
        script_path=str(path.resolve()), script_text=text, script=script, plan=plan, casting=dict(casting),
        out=str(out_dir), store_root=store_root, backend=backend, backend_option=backend_option, db=db,
        tts=tts, music=music, retakes=dict(retakes),
    )  # fmt: skip


def _cast_list(script: Script, plan: ShotPlan) -> list:
    """Declared characters plus anyone the plan has speaking (an edited plan may add speakers)."""
    from schemas.script import Character

    declared = {c.name: c for c in script.characters}
    speakers = [line.character for shot in plan.shots() for line in shot.dialogue]
    return [*declared.values(), *(Character(name=n) for n in dict.fromkeys(speakers) if n not in declared)]


def parse_size(size: str) -> tuple[int, int]:
    """``"1080x1920"`` → (1080, 1920); even numbers only (yuv420p)."""
    w, _, h = size.lower().partition("x")
    if not (w.isdigit() and h.isdigit()) or int(w) % 2 or int(h) % 2 or int(w) < 64 or int(h) < 64:
        raise ConfigError(f"bad frame size {size!r}", field="size", hint="write WIDTHxHEIGHT with even numbers ≥ 64, e.g. 1080x1920")
    return int(w), int(h)


def preflight(
    script_path: str, out: str, backend: str, backend_option: str | None, tts: str, music: str | None, size: str
) -> tuple[Path, Path, str, Script]:
    """Every check that needs no rendering: fail in a second with one clear message, before any work starts."""
    from tasks.assembly.episode import check_output_dir
    from tasks.assembly.subtitles import SubtitleRenderer
    from tasks.audio.tts import get_engine
    from tasks.generate.registry import make_backend
    from tasks.script import parse_text

    parse_size(size)
    make_backend(backend, backend_option)
    get_engine(tts)
    SubtitleRenderer(1080, 1920)  # raises a clear error when the CJK font is missing
    if music and not Path(music).is_file():
        raise ConfigError("no such music file", file=music, field="--music", hint="pass an existing audio file")
    path = Path(script_path)
    from tasks.script.source import read_text

    text = read_text(path)  # unreadable, binary or non-UTF-8 files raise a ScriptError naming the file and fix
    script = parse_text(text, source=str(path), format=None)
    out_dir = check_output_dir(out)
    return out_dir, path, text, script


def _stored_casting(db: str, series: str) -> dict | None:
    from storage.db import make_engine, migrate, session_scope
    from storage.repository import casting_for_series
    from tasks.audio.casting import voice_from_dict

    migrate(db)
    with session_scope(make_engine(db)) as session:
        stored = casting_for_series(session, series)
    return {name: voice_from_dict(v, field=f"casting.{name}") for name, v in stored.items()} if stored else None


def voice(job: Job, key: LineKey) -> VoicedLine:
    from flows.progress import emit
    from tasks.audio.voice import voice_line

    shot_id, index = key
    shot = next(s for s in job.plan.shots() if s.id == shot_id)
    line = shot.dialogue[index]
    result = voice_line(
        job.store, text=line.text, lang=line.lang, voice=job.casting[line.character],
        parenthetical=line.parenthetical, engine=job.tts,
    )  # fmt: skip
    emit("voice", f"{shot_id}#{index}", "cached" if result.cached else "done")
    return result


def fit(job: Job, voiced: Mapping[LineKey, VoicedLine]) -> Timing:
    from tasks.planning.requests import build_requests, shot_offsets
    from tasks.planning.timing import fit_shot

    timed = {}
    for shot in job.plan.shots():
        lengths = [voiced[(shot.id, i)].samples for i in range(len(shot.dialogue))]
        timed[shot.id] = fit_shot(shot, lengths, fps=job.plan.fps)
    requests = build_requests(job.plan, timed, voiced)
    offsets = shot_offsets(requests)
    scene_samples = tuple(sum(timed[s.id].samples for s in scene.shots) for scene in job.plan.scenes)
    return Timing(
        timed=timed, requests=tuple(requests), offsets=tuple(offsets), total_samples=sum(scene_samples),
        scene_samples=scene_samples,
    )  # fmt: skip


def score(job: Job, timing: Timing) -> AudioArtifact:
    from flows.progress import emit
    from tasks.audio.soundtrack import score_episode

    scenes = [
        (scene.mood.value, n, scene.shots[0].seed if scene.shots else scene.index, any(s.stinger for s in scene.shots))
        for scene, n in zip(job.plan.scenes, timing.scene_samples, strict=True)
    ]
    result = score_episode(job.store, scenes, user_track=job.music)
    emit("score", status="cached" if result.cached else "done")
    return result


def shot_cues(request: ShotRequest, offset_samples: int = 0) -> list:
    from tasks.assembly.subtitles import cues_from_lines

    return cues_from_lines(request.lines, shot_offset_samples=offset_samples, fps=request.fps, lang=request.language)


def render(job: Job, request: ShotRequest, timing: Timing) -> ShotArtifact:
    from flows.progress import emit
    from tasks.generate.registry import make_backend
    from tasks.generate.shot import render_shot

    emit("shot", request.shot.id, "start")
    result = render_shot(job.store, request, make_backend(job.backend, job.backend_option), shot_cues(request))
    emit("shot", request.shot.id, "cached" if result.cached else "done", detail=f"{result.frames} frames")
    return result


def mix(
    job: Job, timing: Timing, voiced: Mapping[LineKey, VoicedLine], shots: Sequence[ShotArtifact], music: AudioArtifact
) -> AudioArtifact:
    import zlib

    from flows.progress import emit
    from tasks.audio.ambience import scene_bed
    from tasks.audio.soundtrack import mix_soundtrack, scene_ends

    lines = []
    for request, offset in zip(timing.requests, timing.offsets, strict=True):
        for i, spoken in enumerate(request.lines):
            lines.append((voiced[(request.shot.id, i)].audio, offset + spoken.start_sample))
    ends = scene_ends([r.scene.index for r in timing.requests], timing.offsets, timing.total_samples)
    effects = [(s.effects, off, end) for s, off, end in zip(shots, timing.offsets, ends, strict=True)]  # tails ring on
    beds = [  # room tone and weather under every scene (effects stem, so the M&E carries it); one tone per place
        scene_bed(sc.heading, sc.interior, sc.location, " ".join(s.action for s in sc.shots), n, zlib.crc32((sc.location or sc.heading).encode()))
        for sc, n in zip(job.plan.scenes, timing.scene_samples, strict=True)
    ]
    result = mix_soundtrack(
        job.store, total_samples=timing.total_samples, lines=lines, effects=effects, music=music.path, ambience=beds
    )
    emit("mix", status="cached" if result.cached else "done", detail=f"{result.extra['integrated_lufs']:.1f} LUFS")
    return result


def assemble(job: Job, shots: Sequence[ShotArtifact], soundtrack: AudioArtifact) -> str:
    from flows.progress import emit
    from tasks.assembly.episode import assemble_episode

    fps = Fraction(job.plan.fps)
    durations = [Fraction(s.frames) / fps for s in shots]
    path, cached = assemble_episode(job.store, [s.video for s in shots], soundtrack.path, durations=durations)
    emit("assemble", status="cached" if cached else "done")
    return path


def finish(
    job: Job,
    timing: Timing,
    voiced: Mapping[LineKey, VoicedLine],
    shots: Sequence[ShotArtifact],
    soundtrack: AudioArtifact,
    episode: str,
) -> dict:
    """Sidecar subtitles, cover, plan, stems and a QC report measured from the episode file; delivered atomically."""
    from flows.progress import emit
    from tasks.assembly.cover import make_cover
    from tasks.assembly.episode import deliver
    from tasks.assembly.qc import measure_qc
    from tasks.assembly.subtitles import write_srt, write_vtt
    from tasks.audio.casting import similar_voices

    out = Path(job.out)
    cues = []
    for request, offset in zip(timing.requests, timing.offsets, strict=True):
        cues.extend(shot_cues(request, offset))
    staging = job.store.root / "staging" / hashlib.sha256(job.out.encode()).hexdigest()[:16]
    staging.mkdir(parents=True, exist_ok=True)
    write_srt(cues, staging / "episode.srt", fps=job.plan.fps)
    write_vtt(cues, staging / "episode.vtt", fps=job.plan.fps)
    cover = staging / "cover.jpg"
    make_cover(_cover_frame(shots), job.plan.title, job.plan.episode, cover)
    from schemas.delivery import DeliverySpec

    qc = measure_qc(episode, DeliverySpec(width=job.plan.width, height=job.plan.height, fps=job.plan.fps))
    qc["unmatched_sfx"] = sorted({c for s in shots for c in s.unmatched_sfx})
    qc["unknown_emotions"] = sorted({v.parenthetical for v in voiced.values() if v.parenthetical and not v.emotion_known})
    qc["extended_shots"] = [sid for sid, t in timing.timed.items() if t.extended]
    qc["similar_voices"] = similar_voices(job.casting)
    stems = soundtrack.extra["stems"]
    files = {
        "episode.srt": staging / "episode.srt", "episode.vtt": staging / "episode.vtt", "cover.jpg": cover,
        **{f"stems/{name}.wav": path for name, path in stems.items()},
    }  # fmt: skip
    documents = {
        "plan.json": job.plan.model_dump(mode="json"),
        "qc.json": qc,
        "timing.json": line_timing(timing),
        "casting.json": {name: asdict(voice) for name, voice in job.casting.items()},
    }
    written = deliver(out, episode=episode, files=files, documents=documents)
    emit("deliver", status="done", detail=str(out / "episode.mp4"))
    generated = sum(1 for s in shots if not s.cached)
    return {
        "episode": written["episode.mp4"],
        "out": str(out),
        "title": job.plan.title,
        "shots": len(shots),
        "shots_rendered": generated,
        "shots_cached": len(shots) - generated,
        "lines_voiced": sum(1 for v in voiced.values() if not v.cached),
        "duration_s": qc["duration_s"],
        "integrated_lufs": qc["integrated_lufs"],
        "true_peak_dbtp": qc["true_peak_dbtp"],
        "qc_passed": qc["passed"],
        "qc_failed": qc["failed"],
        "takes": [
            {"shot_id": s.shot_id, "key": s.key, "uri": s.video, "cached": s.cached, "seed": r.seed,
             "frames": s.frames, "scene_index": r.scene.index, "plan": r.shot.model_dump(mode="json")}
            for s, r in zip(shots, timing.requests, strict=True)
        ],  # fmt: skip
        "seconds": round(time.time() - job.started, 2),
    }


def line_timing(timing: Timing) -> dict:
    """Where every shot, effect cue and spoken line sits in the episode (48 kHz samples); dubbing uses the slots."""
    from tasks.media.timebase import seconds_to_samples

    lines = []
    for request, offset in zip(timing.requests, timing.offsets, strict=True):
        shot_end = offset + request.frames * (request.sample_rate // request.fps)
        starts = [offset + spoken.start_sample for spoken in request.lines]
        for i, spoken in enumerate(request.lines):
            later = [s for s in starts if s > starts[i]]
            lines.append({
                "shot_id": request.shot.id, "index": i, "character": spoken.character, "text": spoken.text,
                "line": request.shot.dialogue[i].line, "lang": spoken.lang, "start_sample": starts[i],
                "samples": spoken.samples, "slot_end_sample": min([shot_end, *later]),
                "parenthetical": spoken.parenthetical,
            })  # fmt: skip
    shots = [
        {"shot_id": r.shot.id, "start_sample": off, "frames": r.frames, "samples": r.frames * (r.sample_rate // r.fps),
         "sfx": [{"text": c.text, "at_sample": off + seconds_to_samples(max(c.at, 0.0), r.sample_rate)} for c in r.sfx]}
        for r, off in zip(timing.requests, timing.offsets, strict=True)
    ]  # fmt: skip
    return {"sample_rate": 48_000, "total_samples": timing.total_samples, "shots": shots, "lines": lines}


def _cover_frame(shots: Sequence[ShotArtifact]):
    """A frame from the middle of the episode's first dialogue-heavy stretch, decoded from the shot file."""
    import av

    pick = shots[min(len(shots) - 1, max(1, len(shots) // 3))]
    with av.open(pick.video) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= pick.frames // 2:
                return frame.to_ndarray(format="rgb24")
    raise ConfigError(f"could not decode a cover frame from {pick.video}")


def record(job: Job, summary: dict) -> int | None:
    """Record the render, its takes and the casting in the run database (when one is configured)."""
    if not job.db:
        return None
    from storage.db import make_engine, migrate, session_scope
    from storage.repository import finish_render, record_take, save_casting, start_render

    migrate(job.db)
    engine = make_engine(job.db)
    with session_scope(engine, write=True) as session:  # SQLite: take the write lock up front
        render_id = start_render(
            session, series_title=job.plan.title, episode_number=job.plan.episode or 1,
            episode_title=job.script.episode_title or job.plan.title, script_text=job.script_text,
            script_path=job.script_path, script_format=job.script.format, backend=job.backend, out_dir=job.out,
        )  # fmt: skip
        for take in summary["takes"]:
            record_take(
                session, render_id, shot_id=take["shot_id"], scene_index=take["scene_index"],
                plan_json=take["plan"], take=job.retakes.get(take["shot_id"], 0), seed=take["seed"],
                key=take["key"], uri=take["uri"], digest=take["key"], duration=take["frames"] / job.plan.fps,
                cached=take["cached"],
            )  # fmt: skip
        finish_render(session, render_id, status="succeeded", episode_uri=summary["episode"], qc=summary)
        save_casting(session, job.plan.title, {k: asdict(v) for k, v in job.casting.items()})
    return render_id
