"""A procedural audio-visual world with known event times: coloured balls bouncing in a box.

It is the synthetic data the ``tiny`` preset is trained and evaluated on. Everything is a pure function of
``(seed, index)``: ``ToyWorld(seed).clip(i)`` always returns the same clip, and the world is as large as the
integers. Nothing here imports torch.

The scene: a dark box with a grey floor strip; one or two balls of one colour and one material. A ball either
*bounces* (gravity, floor and wall impacts, restitution < 1, so heights decay) or *rolls* on the floor (steady quiet
noise, wall impacts). Every impact makes a sound that starts at exactly ``round(time * sample_rate)``; its timbre
depends on the material (modal frequencies and decay), its loudness on the impact speed. Between impacts the box is
silent (apart from the ringing of the last impact and the rolling noise).

Time is exact: frame ``k`` shows the world at ``k / fps`` seconds; audio sample ``n`` is at ``n / sample_rate``.
Event times are solved analytically (event-driven simulation), never accumulated frame by frame.

Captions are generated from the scene (``"two red rubber balls bouncing fast"``, ``"a blue metal ball rolling"``)
and :func:`parse_prompt` turns free text back into a :class:`Scene` description, with clear errors for words the
world does not know (``"a purple ball"`` → the known colours).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError


class ToyWorldError(ReelwrightError):
    """A toy-world request that cannot be honoured (unknown colour/material, bad clip spec)."""


# --------------------------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------------------------

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (235, 45, 40),
    "green": (40, 210, 60),
    "blue": (50, 100, 255),
    "yellow": (245, 225, 40),
}
BACKGROUND = (16, 16, 22)
FLOOR = (96, 96, 96)


@dataclass(frozen=True, slots=True)
class Material:
    """How a ball sounds and bounces.

    ``modes`` are ``(frequency Hz, relative amplitude)`` of the struck ball's ringing, each decaying with time
    constant ``decay`` seconds; ``click`` is the level of the broadband contact noise (a few ms long); ``roll`` the
    cut-off of the low-passed rolling noise; ``restitution`` the fraction of normal speed kept at an impact.
    """

    modes: tuple[tuple[float, float], ...]
    decay: float
    click: float
    roll: float
    restitution: float


MATERIALS: dict[str, Material] = {
    # dull thud: low modes, fast decay, soft click
    "rubber": Material(modes=((170.0, 1.0), (390.0, 0.45)), decay=0.045, click=0.25, roll=300.0, restitution=0.92),
    # knock: mid modes, short
    "wood": Material(modes=((560.0, 1.0), (1320.0, 0.5)), decay=0.05, click=0.5, roll=700.0, restitution=0.86),
    # clang: high inharmonic modes (free-bar ratios 1 : 2.76), long ring
    "metal": Material(modes=((1180.0, 1.0), (3250.0, 0.55)), decay=0.3, click=0.35, roll=1500.0, restitution=0.88),
    # clink: very high modes, medium ring
    "glass": Material(modes=((2450.0, 1.0), (3600.0, 0.6)), decay=0.14, click=0.3, roll=2500.0, restitution=0.9),
}
COUNTS = {1: "a", 2: "two"}
SPEEDS = ("fast", "slow")
MOTIONS = ("bouncing", "rolling")

# Words that name colours/materials the world does not have: a prompt using one gets an error listing the known
# ones instead of being silently ignored.
_OTHER_COLOURS = {
    "orange", "purple", "violet", "pink", "magenta", "cyan", "teal", "brown", "black", "white", "grey", "gray",
    "silver", "gold", "golden", "turquoise", "navy", "maroon", "beige", "lime", "indigo",
}  # fmt: skip
_OTHER_MATERIALS = {
    "plastic", "steel", "iron", "stone", "rock", "clay", "paper", "leather", "foam", "ceramic", "marble",
    "crystal", "copper", "brass", "bronze", "aluminium", "aluminum", "gold", "silver", "tennis", "golf",
}  # fmt: skip
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "single": 1, "two": 2, "pair": 2, "both": 2, "three": 3, "four": 4,
                 "five": 5, "several": 3, "many": 4}  # fmt: skip


# --------------------------------------------------------------------------------------------------------------
# Scene description and captions
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scene:
    """What a caption says: the controllable factors of a clip."""

    colour: str
    material: str
    count: int = 1
    motion: str = "bouncing"
    speed: str = "fast"

    def caption(self, *, material: bool = True, motion: bool = True) -> str:
        """The canonical caption, optionally without the material or the motion phrase."""
        words = [COUNTS[self.count], self.colour]
        if material:
            words.append(self.material)
        words.append("ball" if self.count == 1 else "balls")
        if motion:
            words.append(self.motion)
            if self.motion == "bouncing":
                words.append(self.speed)
        return " ".join(words)


def parse_prompt(text: str, *, default: Scene | None = None) -> Scene:
    """Turn free text into a :class:`Scene`; factors the text does not mention come from ``default``.

    Raises :class:`ToyWorldError` for colours, materials or counts the toy world cannot show, naming the known
    ones. Without a ``default`` the text must name a colour.
    """
    words = re.findall(r"[a-z]+|\d+", text.lower())
    colours = [w for w in words if w in COLOURS]
    unknown_colours = sorted({w for w in words if w in _OTHER_COLOURS} - set(MATERIALS))
    materials = [w for w in words if w in MATERIALS]
    unknown_materials = sorted({w for w in words if w in _OTHER_MATERIALS} - set(unknown_colours))
    if unknown_colours and not colours:
        raise ToyWorldError(
            f"unknown colour {unknown_colours[0]!r} in prompt {text!r}",
            field="prompt",
            hint=f"the toy world knows the colours: {', '.join(COLOURS)}",
        )
    if unknown_materials and not materials:
        raise ToyWorldError(
            f"unknown material {unknown_materials[0]!r} in prompt {text!r}",
            field="prompt",
            hint=f"the toy world knows the materials: {', '.join(MATERIALS)}",
        )
    if len(set(colours)) > 1:
        raise ToyWorldError(
            f"prompt {text!r} names several colours ({', '.join(dict.fromkeys(colours))})",
            field="prompt",
            hint="all balls in a toy clip share one colour; name one of: " + ", ".join(COLOURS),
        )
    if len(set(materials)) > 1:
        raise ToyWorldError(
            f"prompt {text!r} names several materials ({', '.join(dict.fromkeys(materials))})",
            field="prompt",
            hint="all balls in a toy clip share one material; name one of: " + ", ".join(MATERIALS),
        )
    count: int | None = None
    for w in words:
        n = int(w) if w.isdigit() else _NUMBER_WORDS.get(w)
        if n is not None:
            count = n
            break
    if count is None and any(w == "balls" for w in words):
        count = 2
    if count is not None and count not in COUNTS:
        raise ToyWorldError(
            f"prompt {text!r} asks for {count} balls", field="prompt", hint="the toy world shows one or two balls"
        )
    base = default
    if base is None:
        if not colours:
            raise ToyWorldError(
                f"prompt {text!r} names no ball colour", field="prompt", hint=f"name one of: {', '.join(COLOURS)}"
            )
        base = Scene(colour=colours[0], material=materials[0] if materials else "rubber")
    motion = "rolling" if any(w.startswith("roll") for w in words) else None
    if motion is None and any(w.startswith("bounc") for w in words):
        motion = "bouncing"
    speed = "slow" if any(w in ("slow", "slowly", "gently", "lazily") for w in words) else None
    if speed is None and any(w in ("fast", "quickly", "quick", "rapidly") for w in words):
        speed = "fast"
    return replace(
        base,
        colour=colours[0] if colours else base.colour,
        material=materials[0] if materials else base.material,
        count=count if count is not None else base.count,
        motion=motion or base.motion,
        speed=speed or base.speed,
    )


def scene_from_text(text: str) -> Scene:
    """A deterministic toy scene for any text (e.g. a drama shot description): words the world knows win, the
    rest is chosen by a stable hash of the text, so the same text always gives the same scene."""
    import hashlib

    h = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")
    default = Scene(
        colour=list(COLOURS)[h % len(COLOURS)],
        material=list(MATERIALS)[(h // 7) % len(MATERIALS)],
        count=1 + (h // 53) % 2,
        motion="bouncing",
        speed=SPEEDS[(h // 211) % 2],
    )
    words = set(re.findall(r"[a-z]+", text.lower()))
    known = set(COLOURS) | set(MATERIALS) | {"ball", "balls", "bouncing", "rolling", "fast", "slow", "two"}
    if words & known:
        try:
            return parse_prompt(text, default=default)
        except ToyWorldError:
            return default
    return default


# --------------------------------------------------------------------------------------------------------------
# Clip geometry and physics
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """Pixel size, frame rate, length and audio rate of every clip. ``frames * sample_rate`` must be divisible by
    ``fps`` so that each frame spans a whole number of samples (exact time)."""

    width: int = 32
    height: int = 32
    fps: int = 16
    frames: int = 16
    sample_rate: int = 8000
    radius: float = 3.5
    floor_px: int = 2
    gravity: float = 160.0  # px / s^2

    @property
    def duration(self) -> Fraction:
        return Fraction(self.frames, self.fps)

    @property
    def samples(self) -> int:
        n = Fraction(self.frames * self.sample_rate, self.fps)
        return int(n)

    def check(self) -> WorldSpec:
        if (self.frames * self.sample_rate) % self.fps:
            raise ToyWorldError(
                f"frames*sample_rate={self.frames * self.sample_rate} is not divisible by fps={self.fps}",
                hint="choose a sample rate that is a multiple of the frame rate",
            )
        if min(self.width, self.height) < 4 * self.radius + 2:
            raise ToyWorldError(f"a {self.width}x{self.height} box is too small for balls of radius {self.radius}")
        return self

    @property
    def floor_y(self) -> float:
        """y of a resting ball's centre (image coordinates, y grows downwards)."""
        return self.height - self.floor_px - self.radius


@dataclass(slots=True)
class _Ball:
    x: float
    y: float
    vx: float
    vy: float
    rolling: bool


@dataclass(frozen=True, slots=True)
class Event:
    time: float  # seconds from the clip start
    ball: int
    kind: str  # "floor" | "wall"
    speed: float  # normal speed at impact, px/s

    def as_tuple(self) -> tuple[float, int, str]:
        return (self.time, self.ball, self.kind)


@dataclass(frozen=True, slots=True)
class Clip:
    """One toy clip. ``video`` is ``(F, H, W, 3) uint8``, ``audio`` ``(n,) float32`` in [-1, 1] at
    ``spec.sample_rate``; ``events`` are ``(time_s, ball_id, kind)`` of every impact inside the clip, sorted."""

    video: np.ndarray
    audio: np.ndarray
    events: list[tuple[float, int, str]]
    caption: str
    scene: Scene
    meta: dict = field(default_factory=dict)


_MIN_BOUNCE_SPEED = 25.0  # px/s: below this a bounce ends and the ball rolls


def _simulate(
    balls: list[_Ball], spec: WorldSpec, material: Material, t_start: float, t_end: float, times: np.ndarray
) -> tuple[list[Event], np.ndarray, list[list[tuple[float, float]]]]:
    """Event-driven simulation from ``t_start`` (< 0) to ``t_end``.

    Returns impacts with ``t >= 0``, the ball positions ``(len(times), n_balls, 2)`` at the given times, and per
    ball the rolling intervals (clipped to ``[0, t_end]``). Impact times are solved in closed form.
    """
    g, r = spec.gravity, spec.radius
    x_lo, x_hi, y_floor = r, spec.width - r, spec.floor_y
    events: list[Event] = []
    positions = np.zeros((len(times), len(balls), 2))
    rolls: list[list[tuple[float, float]]] = [[] for _ in balls]
    for b, ball in enumerate(balls):
        t = t_start
        roll_since = t_start if ball.rolling else None
        k = 0  # next sample time to fill
        while True:
            # time to the next wall impact
            if ball.vx > 0:
                dt_wall = (x_hi - ball.x) / ball.vx
            elif ball.vx < 0:
                dt_wall = (x_lo - ball.x) / ball.vx
            else:
                dt_wall = math.inf
            # time to the next floor impact: y + vy t + g t^2 / 2 = y_floor (vy > 0 is downwards)
            if ball.rolling:
                dt_floor = math.inf
            else:
                disc = ball.vy * ball.vy + 2 * g * (y_floor - ball.y)
                dt_floor = (-ball.vy + math.sqrt(max(disc, 0.0))) / g
            dt = min(dt_wall, dt_floor, t_end - t)

            def state_at(tau: float, ball: _Ball = ball) -> tuple[float, float]:
                y = ball.y if ball.rolling else ball.y + ball.vy * tau + 0.5 * g * tau * tau
                return ball.x + ball.vx * tau, min(y, y_floor)

            while k < len(times) and times[k] <= t + dt:
                positions[k, b] = state_at(times[k] - t)
                k += 1
            if t + dt >= t_end:
                break
            ball.x, ball.y = state_at(dt)
            if not ball.rolling:
                ball.vy += g * dt
            t += dt
            if dt_wall <= dt_floor:
                speed = abs(ball.vx)
                ball.vx = -ball.vx * material.restitution
                ball.x = min(max(ball.x, x_lo), x_hi)
                if t >= 0:
                    events.append(Event(float(t), b, "wall", float(speed)))
            else:
                speed = abs(ball.vy)
                ball.y = y_floor
                if t >= 0:
                    events.append(Event(float(t), b, "floor", float(speed)))
                ball.vy = -speed * material.restitution
                if abs(ball.vy) < _MIN_BOUNCE_SPEED:
                    ball.vy, ball.rolling = 0.0, True
                    roll_since = t
        if roll_since is not None:
            rolls[b].append((max(roll_since, 0.0), t_end))
    events.sort(key=lambda e: (e.time, e.ball))
    return events, positions, rolls


# --------------------------------------------------------------------------------------------------------------
# Rendering and sound
# --------------------------------------------------------------------------------------------------------------

_SUPER = 4  # supersampling factor for anti-aliased discs


def render_frames(positions: np.ndarray, colour: tuple[int, int, int], spec: WorldSpec) -> np.ndarray:
    """``(F, n_balls, 2)`` ball centres (px) → ``(F, H, W, 3) uint8`` frames with anti-aliased discs."""
    h, w = spec.height, spec.width
    base = np.empty((h, w, 3), np.float32)
    base[:] = BACKGROUND
    base[h - spec.floor_px :] = FLOOR
    s = _SUPER
    ys = (np.arange(h * s) + 0.5) / s
    xs = (np.arange(w * s) + 0.5) / s
    col = np.asarray(colour, np.float32)
    out = np.empty((len(positions), h, w, 3), np.uint8)
    for f, centres in enumerate(positions):
        cover = np.zeros((h * s, w * s), np.float32)
        for cx, cy in centres:
            inside = ((xs[None, :] - cx) ** 2 + (ys[:, None] - cy) ** 2) <= spec.radius**2
            cover = np.maximum(cover, inside)
        alpha = cover.reshape(h, s, w, s).mean(axis=(1, 3))[..., None]
        out[f] = np.clip(base * (1 - alpha) + col * alpha + 0.5, 0, 255).astype(np.uint8)
    return out


def impact_sound(material: Material, speed: float, sample_rate: int, rng: np.random.Generator, detune: float
                 ) -> np.ndarray:  # fmt: skip
    """The sound of one impact, starting at its first sample (which is never zero: the contact click)."""
    n = int(sample_rate * min(1.0, 6 * material.decay + 0.02))
    t = np.arange(n) / sample_rate
    gain = 0.55 * float(np.clip(speed / 160.0, 0.45, 1.0))
    env = np.exp(-t / material.decay)
    out = np.zeros(n, np.float64)
    total = sum(a for _, a in material.modes)
    for freq, amp in material.modes:
        f = min(freq * detune, 0.45 * sample_rate)
        out += (amp / total) * np.cos(2 * np.pi * f * t + rng.uniform(-0.3, 0.3)) * env
    n_click = max(2, int(0.004 * sample_rate))
    click = rng.standard_normal(n_click) * np.exp(-np.arange(n_click) / (0.0012 * sample_rate))
    click[0] = abs(click[0]) + 0.5
    out[:n_click] += material.click * click
    return (gain * out).astype(np.float32)


def _rolling_noise(material: Material, n: int, sample_rate: int, rng: np.random.Generator, level: float
                   ) -> np.ndarray:  # fmt: skip
    from scipy.signal import butter, lfilter

    b, a = butter(2, min(material.roll, 0.45 * sample_rate) / (sample_rate / 2))
    noise = lfilter(b, a, rng.standard_normal(n + 256))[256:]
    noise /= np.sqrt(np.mean(noise**2)) + 1e-9
    return (level * noise).astype(np.float32)


# --------------------------------------------------------------------------------------------------------------
# The world
# --------------------------------------------------------------------------------------------------------------


class ToyWorld:
    """An unlimited, deterministic stream of toy clips: ``ToyWorld(seed).clip(i)``.

    ``scene=`` forces the captioned factors (for sampling prompts); positions, speeds and phases still come from
    ``(seed, index)``.
    """

    def __init__(self, seed: int = 0, spec: WorldSpec | None = None) -> None:
        self.seed = int(seed)
        self.spec = (spec or WorldSpec()).check()

    def random_scene(self, rng: np.random.Generator) -> Scene:
        return Scene(
            colour=str(rng.choice(list(COLOURS))),
            material=str(rng.choice(list(MATERIALS))),
            count=1 if rng.random() < 0.65 else 2,
            motion="rolling" if rng.random() < 0.2 else "bouncing",
            speed=str(rng.choice(SPEEDS)),
        )

    def clip(self, index: int, scene: Scene | None = None) -> Clip:
        spec = self.spec
        rng = np.random.default_rng([self.seed, int(index), 0x70F])
        scene_rng = np.random.default_rng([self.seed, int(index), 0x5CE])
        scene = scene or self.random_scene(scene_rng)
        if scene.colour not in COLOURS or scene.material not in MATERIALS or scene.count not in COUNTS:
            raise ToyWorldError(f"scene {scene} is outside the toy vocabulary")
        material = MATERIALS[scene.material]
        balls = self._initial_balls(scene, rng)
        duration = float(spec.duration)
        warmup = float(rng.uniform(0.0, 0.6))
        times = np.arange(spec.frames) / spec.fps
        events, positions, rolls = _simulate(balls, spec, material, -warmup, duration, times)
        video = render_frames(positions, COLOURS[scene.colour], spec)
        audio = self._sound(events, rolls, material, scene, rng)
        return Clip(
            video=video,
            audio=audio,
            events=[e.as_tuple() for e in events],
            caption=scene.caption(),
            scene=scene,
            meta={
                "seed": self.seed,
                "index": int(index),
                "fps": spec.fps,
                "sample_rate": spec.sample_rate,
                "impact_speeds": [e.speed for e in events],
                "rolling": [list(map(list, r)) for r in rolls],
                "positions": positions.astype(np.float32),
            },
        )

    def _initial_balls(self, scene: Scene, rng: np.random.Generator) -> list[_Ball]:
        spec = self.spec
        r, w = spec.radius, spec.width
        balls = []
        for b in range(scene.count):
            # two balls start in their own third of the box and drift slowly, so they rarely overlap
            if scene.count == 1:
                lo, hi = r + 1, w - r - 1
            else:
                lo, hi = (r + 1, w / 3) if b == 0 else (2 * w / 3, w - r - 1)
            x = float(rng.uniform(lo, hi))
            drift = 1.0 if scene.count == 1 else 0.3
            if scene.motion == "rolling":
                vx = float(rng.uniform(12, 28)) * drift * rng.choice([-1, 1])
                balls.append(_Ball(x, spec.floor_y, vx, 0.0, True))
                continue
            apex = float(rng.uniform(7, 10) if scene.speed == "fast" else rng.uniform(16, 22))  # px above floor
            apex = min(apex, spec.floor_y - r)
            vmax = math.sqrt(2 * spec.gravity * apex)
            vy = float(rng.uniform(-vmax, vmax))  # somewhere in the flight arc
            y = spec.floor_y - (apex - vy * vy / (2 * spec.gravity))
            vx = float(rng.uniform(4, 14) if scene.speed == "fast" else rng.uniform(2, 8)) * drift * rng.choice([-1, 1])
            balls.append(_Ball(x, y, vx, vy, False))
        return balls

    def _sound(self, events: list[Event], rolls: list[list[tuple[float, float]]], material: Material, scene: Scene,
               rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        spec = self.spec
        n = spec.samples
        out = np.zeros(n + spec.sample_rate, np.float32)  # room for tails, cut at the end
        detunes = rng.uniform(0.94, 1.06, size=scene.count)
        for e in events:
            start = round(e.time * spec.sample_rate)
            if start >= n:
                continue
            s = impact_sound(material, e.speed, spec.sample_rate, rng, float(detunes[e.ball]))
            out[start : start + len(s)] += s
        for b, intervals in enumerate(rolls):
            for t0, t1 in intervals:
                a, z = round(t0 * spec.sample_rate), round(t1 * spec.sample_rate)
                if z > a:
                    noise = _rolling_noise(material, z - a, spec.sample_rate, rng, level=0.006 * float(detunes[b]))
                    ramp = min(len(noise), int(0.01 * spec.sample_rate))
                    noise[:ramp] *= np.linspace(0, 1, ramp, dtype=np.float32)  # no click at roll start
                    out[a:z] += noise
        return np.clip(out[:n], -1.0, 1.0)


# --------------------------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------------------------


def upscale_nearest(video: np.ndarray, factor: int) -> np.ndarray:
    """``(F, H, W, 3)`` → ``(F, H*factor, W*factor, 3)`` by pixel repetition (crisp for viewing)."""
    return np.repeat(np.repeat(video, factor, axis=1), factor, axis=2)


def write_mp4(path: str | Path, video: np.ndarray, audio: np.ndarray, *, fps: int, sample_rate: int,
              scale: int = 8) -> Path:  # fmt: skip
    """Write ``video (F,H,W,3) uint8`` + mono ``audio`` as one MP4 (H.264 + AAC 48 kHz), frames upscaled by
    ``scale`` with nearest neighbour. Goes through the project's one ffmpeg wrapper."""
    import tempfile

    from scipy.io import wavfile

    from tasks.media.ffmpeg import FrameWriter, run_ffmpeg
    from tasks.media.files import atomic_path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = upscale_nearest(np.asarray(video, np.uint8), scale) if scale > 1 else np.asarray(video, np.uint8)
    f, h, w, _ = frames.shape
    if h % 2 or w % 2:
        frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        f, h, w, _ = frames.shape
    with tempfile.TemporaryDirectory(prefix="reelwright-toy-") as tmp:
        silent = Path(tmp) / "video.mp4"
        wav = Path(tmp) / "audio.wav"
        with FrameWriter(silent, width=w, height=h, fps=Fraction(fps)) as writer:
            for frame in frames:
                writer.write(frame)
        pcm = (np.clip(np.asarray(audio, np.float32), -1, 1) * 32767).astype(np.int16)
        wavfile.write(wav, sample_rate, pcm)
        with atomic_path(path) as out:
            run_ffmpeg([
                "-i", str(silent), "-i", str(wav), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy",
                "-c:a", "aac", "-b:a", "96k", "-ar", "48000", "-ac", "1", "-f", "mp4", str(out),
            ], timeout=120)  # fmt: skip
    return path


def export_clip(clip: Clip, path: str | Path, spec: WorldSpec | None = None, *, scale: int = 8) -> Path:
    spec = spec or WorldSpec()
    return write_mp4(path, clip.video, clip.audio, fps=clip.meta.get("fps", spec.fps),
                     sample_rate=clip.meta.get("sample_rate", spec.sample_rate), scale=scale)  # fmt: skip
