"""From a timed plan and voiced lines to one ShotRequest per shot (pure data, no I/O)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from schemas.generate import SceneContext, ShotRequest, SpokenLine, WordTiming
from schemas.media import VoicedLine
from schemas.plan import PlannedScene, Shot, ShotPlan
from tasks.planning.timing import TimedShot

HEARD_ONLY = {"V.O.", "VO", "O.S.", "OS", "O.C."}


def shot_prompt(shot: Shot, scene: PlannedScene) -> str:
    """A plain-language description of the shot, for text-conditioned backends."""
    where = " ".join(x for x in (scene.interior or "", scene.location or scene.heading) if x)
    who = ", ".join(shot.on_screen) or "no one"
    parts = [f"{shot.shot_type.value} shot, {shot.camera.value.replace('_', ' ')}", f"{where}, {scene.time_of_day}", f"on screen: {who}"]
    if shot.speaker:
        parts.append(f"{shot.speaker} speaks")
    if shot.action:
        parts.append(shot.action)
    parts.append(f"mood: {scene.mood.value}")
    return "; ".join(parts)


def build_requests(
    plan: ShotPlan,
    timed: Mapping[str, TimedShot],
    voiced: Mapping[tuple[str, int], VoicedLine],
) -> list[ShotRequest]:
    """One request per shot, in plan order. ``voiced`` is keyed by (shot id, line index)."""
    requests: list[ShotRequest] = []
    for scene in plan.scenes:
        context = SceneContext(
            index=scene.index, heading=scene.heading, location=scene.location, interior=scene.interior,
            time_of_day=scene.time_of_day, mood=scene.mood.value,
        )  # fmt: skip
        for shot in scene.shots:
            t = timed[shot.id]
            lines = []
            for i, line in enumerate(shot.dialogue):
                v = voiced[(shot.id, i)]
                lines.append(
                    SpokenLine(
                        character=line.character, text=line.text, lang=line.lang, audio=v.audio,
                        start_sample=t.line_starts[i], samples=v.samples,
                        words=tuple(WordTiming(text=w, start=s, end=e) for w, s, e in v.words),
                        parenthetical=line.parenthetical, voice=v.voice,
                        on_screen=(line.extension or "") not in HEARD_ONLY and line.character in shot.on_screen,
                    )
                )  # fmt: skip
            requests.append(
                ShotRequest(
                    shot=shot, scene=context, prompt=shot_prompt(shot, scene), frames=t.frames, fps=plan.fps,
                    width=plan.width, height=plan.height, lines=tuple(lines), sfx=shot.sfx, seed=shot.seed,
                    language=plan.language,
                )
            )  # fmt: skip
    return requests


def shot_offsets(requests: Sequence[ShotRequest]) -> list[int]:
    """Sample offset of each shot from the episode start (48 kHz), by exact frame counts."""
    offsets, cursor = [], 0
    for r in requests:
        offsets.append(cursor)
        cursor += r.frames * (r.sample_rate // r.fps)
    return offsets
