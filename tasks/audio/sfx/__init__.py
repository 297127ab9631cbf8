"""Procedural sound effects: a named catalogue, a synthesiser, and cue text → effect matching.

``synthesize(name, seed=…)`` renders an effect as (n, 2) float32 at 48 kHz: the same seed gives the same
samples, another seed a slightly different take (timing, pitch and material jittered), so ten knocks in an
episode do not sound copy-pasted. ``room=`` places it in a scene's acoustic space (tasks.audio.rooms);
``duration=`` gives exactly that many samples (textures loop seamlessly, repeated events fill it, one-shots are
padded or faded out). Peaks sit at each effect's catalogue level, always below full scale.
"""

from __future__ import annotations

import difflib
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from schemas.errors import ReelwrightError
from tasks.audio.sfx import impacts, textures, tones
from tasks.audio.sfx.dsp import RATE, fades, highpass

__all__ = ["EFFECTS", "EffectSpec", "SfxError", "match_cue", "synthesize"]

Recipe = Callable[[np.random.Generator, float], np.ndarray]


class SfxError(ReelwrightError):
    """A bad effect request: unknown name, bad pan or duration."""


@dataclass(frozen=True, slots=True)
class EffectSpec:
    """One catalogue entry. ``fills`` effects stretch to the requested duration (textures and repeated events);
    ``loops`` textures also loop without a seam; ``peak_db`` is the sample peak the render is normalised to."""

    name: str
    render: Recipe
    peak_db: float = -3.0
    default_seconds: float = 0.0  # 0: the event's natural length
    fills: bool = False
    loops: bool = False

    @property
    def description(self) -> str:
        return (self.render.__doc__ or self.name).strip().splitlines()[0]


def _spec(
    render: Recipe, peak_db: float = -3.0, seconds: float = 0.0, *, fills: bool = False, loops: bool = False
) -> EffectSpec:
    return EffectSpec(render.__name__, render, peak_db, seconds, fills or loops, loops)


EFFECTS: dict[str, EffectSpec] = {
    s.name: s
    for s in (
        _spec(impacts.door_knock, -3.0),
        _spec(impacts.door_bang, -1.5),
        _spec(impacts.door_creak, -6.0),
        _spec(impacts.footsteps_wood, -6.0, 3.0, fills=True),
        _spec(impacts.footsteps_concrete, -6.0, 3.0, fills=True),
        _spec(impacts.footsteps_heels, -6.0, 3.0, fills=True),
        _spec(impacts.footsteps_puddle, -6.0, 3.0, fills=True),
        _spec(impacts.glass_shatter, -2.0),
        _spec(impacts.cup_clink, -8.0),
        _spec(impacts.punch, -2.0),
        _spec(impacts.slap, -2.0),
        _spec(impacts.body_fall, -3.0),
        _spec(impacts.cane_tap, -8.0, 3.0, fills=True),
        _spec(impacts.drum_hit, -2.0),
        _spec(impacts.cymbal, -6.0),
        _spec(impacts.camera_shutter, -8.0),
        _spec(impacts.typing, -12.0, 3.0, fills=True),
        _spec(impacts.clock_tick, -14.0, 4.0, fills=True),
        _spec(impacts.gunshot, -1.0),
        _spec(impacts.applause, -8.0, 4.0, fills=True),
        _spec(impacts.metal_clank, -3.0),
        _spec(textures.thunder, -2.0),
        _spec(textures.rain, -14.0, 4.0, loops=True),
        _spec(textures.wind, -12.0, 4.0, loops=True),
        _spec(textures.engine, -10.0, 4.0, loops=True),
        _spec(textures.electric_hum, -16.0, 3.0, loops=True),
        _spec(textures.sea, -12.0, 8.0, loops=True),
        _spec(textures.traffic, -14.0, 6.0, loops=True),
        _spec(textures.car_pass, -4.0, 0.0, fills=True),
        _spec(textures.tire_screech, -4.0),
        _spec(textures.crowd_murmur, -14.0, 4.0, loops=True),
        _spec(textures.birds, -14.0, 4.0, fills=True),
        _spec(textures.paper, -12.0),
        _spec(textures.paper_shred, -8.0, 3.0, fills=True),
        _spec(textures.heartbeat, -4.0, 4.0, fills=True),
        _spec(textures.whoosh, -4.0),
        _spec(textures.explosion, -1.0),
        _spec(tones.phone_buzz, -6.0),
        _spec(tones.phone_ring, -8.0),
        _spec(tones.notification, -10.0),
        _spec(tones.doorbell, -8.0),
        _spec(tones.car_horn, -4.0, 0.0, fills=True),
        _spec(tones.siren, -10.0, 5.0, fills=True),
    )
}


def _effect(name: str) -> EffectSpec:
    spec = EFFECTS.get(name)
    if spec is None:
        close = difflib.get_close_matches(name, EFFECTS, n=3)
        hint = f"did you mean {', '.join(close)}?" if close else f"use one of: {', '.join(sorted(EFFECTS))}"
        raise SfxError(f"unknown sound effect {name!r}", field="sfx", hint=hint)
    return spec


def _balance(x: np.ndarray, position: float) -> np.ndarray:
    """Place a stereo render: constant-power balance, unity in the centre."""
    angle = (position + 1.0) * np.pi / 4
    return x * (np.sqrt(2.0) * np.array([np.cos(angle), np.sin(angle)]))


def synthesize(
    name: str, *, seed: int, room: str | None = None, pan: float = 0.0, duration: float | None = None
) -> np.ndarray:
    """Render effect ``name`` as (n, 2) float32 at 48 kHz; ``n = round(duration · 48000)`` when ``duration`` is set."""
    from tasks.audio.rooms import apply_room

    spec = _effect(name)
    if not -1.0 <= pan <= 1.0:
        raise SfxError(
            f"pan={pan} is outside [-1, 1]", field="pan", hint="-1 is hard left, 0 centre, 1 hard right"
        )
    if duration is not None and not 0.0 < duration <= 600.0:
        raise SfxError(
            f"duration={duration} s is not in (0, 600]",
            field="duration",
            hint="give the cue's length in seconds",
        )
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])
    length = duration if duration is not None else spec.default_seconds
    x = np.asarray(spec.render(rng, length if spec.fills else 0.0), dtype=np.float64)
    x = np.stack([x, x], axis=1) * np.sqrt(0.5) if x.ndim == 1 else x
    x = _balance(x, pan)
    x = highpass(x, 25.0)  # no DC or sub-sonic drift from integrated noise
    if room is not None:
        x = apply_room(x, room, seed=0)  # one IR per room: every effect in a scene shares its acoustics
    if duration is not None:
        n = int(round(duration * RATE))
        if len(x) > n:
            x = fades(x[:n], 0.0, min(0.05, duration / 4)) if not spec.loops else x[:n]
        elif len(x) < n:
            x = np.concatenate([x, np.zeros((n - len(x), 2))])
    elif not spec.loops:  # a loop's last sample must flow into its first: no trim, no fade
        x = _trim_tail(x)
        x = fades(x, 0.0, 0.005)
    peak = np.abs(x).max()
    if peak > 0:
        x = x * (10 ** (spec.peak_db / 20) / peak)
    return x.astype(np.float32)


def _trim_tail(x: np.ndarray, floor_db: float = -70.0) -> np.ndarray:
    """Drop the trailing samples that stay more than ``floor_db`` under the peak (reverb and decay tails)."""
    level = np.abs(x).max(axis=1)
    peak = level.max()
    if peak == 0:
        return x
    loud = np.flatnonzero(level > peak * 10 ** (floor_db / 20))
    return x[: loud[-1] + 1] if len(loud) else x


def match_cue(text: str) -> str | None:
    """Cue text → effect name or None (see tasks.audio.sfx.cues)."""
    from tasks.audio.sfx.cues import match_cue as _match

    return _match(text)
