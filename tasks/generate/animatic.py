"""The ``animatic`` backend: a procedural storyboard a producer recognises, drawn on the CPU.

Per shot: a location plate lit by the time of day, the on-screen characters framed by shot type (each
always drawn the same way), the speaker's mouth driven by the loudness of their own voiced line, idle
blinking and breathing, the camera move as a crop path over an oversize canvas, the action as a muted
caption and 【字幕】 cards at their times. SFX cues are synthesised by ``tasks.audio.sfx`` and panned to the
acting character. Everything is a function of the request and its seed.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from schemas.generate import ShotRequest
from storage.assets import code_version
from tasks.generate.protocol import GeneratedShot
from tasks.video.camera import CameraPath, camera_path, canvas_size
from tasks.video.effects import effects_track
from tasks.video.errors import VideoError
from tasks.video.figures import Figure
from tasks.video.framing import frame_figures
from tasks.video.looks import stable_rng
from tasks.video.overlays import TitleCard, action_sprite, title_cards
from tasks.video.plates import PlateSpec, figure_light, plate_spec, render_plate
from tasks.video.speech import Speech, speech_for
from tasks.video.stage import FaceState, Stage
from tasks.video.text import Sprite

BLINK_SECONDS = 0.12
SOUND_PACKAGES = ("tasks.audio.sfx", "tasks.audio.rooms")
RING_SECONDS = 4.0  # how long an effect may ring on past the shot's cut (a stairwell's reverb lasts ~3 s)


class AnimaticError(VideoError):
    """A shot request the animatic backend cannot draw."""


@dataclass(frozen=True, slots=True)
class _Idle:
    """Blink frames and breathing phase of one figure (seeded, so a re-render is identical)."""

    blinks: frozenset[int]
    period: float
    phase: float
    amplitude: int

    def lift(self, t: float) -> int:
        return int(round(self.amplitude * 0.5 * (1.0 - np.cos(2.0 * np.pi * t / self.period + self.phase))))


def _idle(fig: Figure, seed: int, frames: int, fps: int) -> _Idle:
    rng = stable_rng("idle", seed, fig.name)
    blinks: set[int] = set()
    t = float(rng.uniform(0.3, 2.0))
    span = max(1, int(round(BLINK_SECONDS * fps)))
    while t * fps < frames:
        start = int(t * fps)
        blinks.update(range(start, start + span))
        t += float(rng.uniform(2.2, 5.0))
    return _Idle(
        frozenset(blinks), float(rng.uniform(3.2, 4.4)), float(rng.uniform(0, 2 * np.pi)), fig.breath
    )


def _validate(request: ShotRequest) -> None:
    def bad(field: str, message: str, hint: str) -> AnimaticError:
        return AnimaticError(message, field=f"request.{field}", hint=hint)

    if request.frames < 1:
        raise bad("frames", f"frames must be at least 1, got {request.frames}", "use shot.frames(fps)")
    if request.width < 64 or request.height < 64:
        raise bad(
            "width",
            f"frame size {request.width}x{request.height} is too small",
            "use at least 64x64 (default 1080x1920)",
        )
    if request.fps < 1 or request.sample_rate % request.fps:
        raise bad(
            "fps",
            f"{request.sample_rate} Hz audio does not divide into {request.fps} fps frames",
            "use 24, 25, 30, 48, 50 or 60 fps with 48000 Hz",
        )


class AnimaticBackend:
    """Procedural storyboard video + the real dialogue's lip flap + synthesised SFX. CPU only, no setup."""

    name = "animatic"

    def __init__(self, font: str | None = None) -> None:
        self.font = font

    def version(self) -> str:
        """Hash of the drawing code and of the SFX synthesiser whose output lands in ``effects``."""
        packages = ["tasks.video", "tasks.generate.animatic"]
        packages += [name for name in SOUND_PACKAGES if _has_source(name)]
        return f"animatic-{code_version(*packages)}"

    def generate(self, request: ShotRequest) -> GeneratedShot:
        _validate(request)
        shot, scene = request.shot, request.scene
        figures = frame_figures(
            shot.shot_type.value, shot.on_screen, shot.speaker, request.width, request.height
        )
        camera = camera_path(
            shot.camera.value,
            request.frames,
            request.width,
            request.height,
            fps=request.fps,
            seed=request.seed,
        )
        mid = request.frames // 2
        positions = {}
        for fig in figures:
            x, y = camera.to_screen(mid, *fig.face_xy)
            positions[fig.name] = {
                "x": round(float(x) / request.width, 4),
                "y": round(float(y) / request.height, 4),
            }
        speech = speech_for(request.lines, request.frames, request.fps, request.sample_rate)
        room = _room(request)
        track = effects_track(
            request.sfx,
            samples=request.frames * (request.sample_rate // request.fps),
            rate=request.sample_rate,
            seed=request.seed,
            room=room,
            positions_at=lambda seconds: _screen_x(figures, camera, seconds, request),
            speaker=shot.speaker,
            ring=int(RING_SECONDS * request.sample_rate),  # the mix cuts the tail at the scene's end
        )
        spec = plate_spec(
            scene.location or scene.heading,
            scene.interior,
            scene.time_of_day,
            *canvas_size(request.width, request.height),
        )
        info = {
            "backend": self.name,
            "version": self.version(),
            "plate": {"kind": spec.kind, "time": spec.time, "interior": spec.interior},
            "positions": positions,
            "room": room,
            "sfx": list(track.placed),
            "unmatched_sfx": list(track.unmatched),
            # A storyboard is drawn from text: reference images/clips and masks are not used.
            "ignored": [k for k in ("references", "mask") if getattr(request, k)],
            "sfx_after_shot_end": list(track.outside),
        }
        frames = self._frames(request, figures, camera, speech, spec)
        return GeneratedShot(frames=frames, effects=track.audio, info=info)

    def _frames(
        self,
        request: ShotRequest,
        figures: list[Figure],
        camera: CameraPath,
        speech: Speech,
        spec: PlateSpec,
    ) -> Iterator[np.ndarray]:
        """Lazy: nothing is drawn until the first frame is asked for."""
        shot, scene = request.shot, request.scene
        stage = Stage(render_plate(spec), figures, light=figure_light(spec), font=self.font)
        idles = [_idle(f, request.seed, request.frames, request.fps) for f in figures]
        slug = f"S{scene.index} · {shot.id} · {shot.shot_type.value} · {shot.camera.value.replace('_', ' ')}"
        caption: Sprite = action_sprite(slug, shot.action, request.width, request.height, self.font)
        cards: list[TitleCard] = title_cards(
            shot.captions, request.frames, request.fps, request.width, request.height, self.font
        )
        for k in range(request.frames):
            t = k / request.fps
            states = [
                FaceState(
                    mouth=speech.level(fig.name, k),
                    eyes_open=k not in idle.blinks,
                    lift=idle.lift(t),
                    active=speech.speaking(fig.name, k),
                )
                for fig, idle in zip(figures, idles, strict=True)
            ]
            frame = camera.render(stage.pose(states), k)
            caption.blend(frame)
            for card in cards:
                opacity = card.opacity(k)
                if opacity > 0:
                    card.sprite.blend(frame, opacity)
            yield frame


def _screen_x(
    figures: list[Figure], camera: CameraPath, seconds: float, request: ShotRequest
) -> dict[str, float]:
    """Each figure's face x (0..1 of the frame width) at ``seconds`` into the shot, camera move included."""
    k = min(max(int(seconds * request.fps), 0), request.frames - 1)
    return {f.name: float(camera.to_screen(k, *f.face_xy)[0]) / request.width for f in figures}


def _has_source(module: str) -> bool:
    """Whether ``module`` is importable from a source file (so its code can be hashed into the version)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):  # ValueError: a stand-in module without a spec (tests)
        return False
    return spec is not None and spec.origin is not None and spec.origin.endswith(".py")


def _room(request: ShotRequest) -> str | None:
    """The acoustic room of the scene, from the SFX package's own rule (None when it is not installed)."""
    if not request.sfx:
        return None
    try:
        rooms = importlib.import_module("tasks.audio.rooms")
    except ImportError:
        return None
    scene = request.scene
    return rooms.room_for(scene.heading, scene.interior, scene.location)
