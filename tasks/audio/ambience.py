"""Ambience: the room tone and weather under each scene, so the effects stem is never digital silence.

A real location always sounds: air handling in an office, the hollow of a stairwell, distant traffic outside, the
road under a car. Each scene gets

* a **room tone** from its room (tasks.audio.rooms): seeded noise shaped per room, with a faint hum indoors; and
* **place and weather loops** from words in its heading and action lines, CAPS or not ("Rain sheets across neon"
  → rain, "the pier" → sea, STREETS → traffic, 大雨 → rain), rendered from the SFX library's loops
  (tasks.audio.sfx). Outside sounds heard from inside are muffled (lowpassed) and quieter.

Each element is a short seamless loop tiled to the scene's length; scene beds overlap by ``CROSSFADE`` and cross
with equal-power fades (uncorrelated noise keeps its level through the join), and the episode fades in and out.
The track is returned at a nominal scale — room tone at unit RMS (0 dB), loops ``LOOP_GAIN_DB`` over it — and the
mix sets it relative to the dialogue (tasks.audio.mix, ``ambience_db``), so it lands near −47 dBFS at −14 LUFS.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# The package first, then its submodule: a shot-render thread may be importing the package (whose __init__
# imports dsp) at the same moment; importing dsp directly would take dsp's import lock and then wait for the
# package's, while that thread holds the package's and waits for dsp's (a _DeadlockError seen in CI).
import tasks.audio.sfx  # noqa: F401, I001
from tasks.audio.sfx.dsp import RATE, bandpass, brown, highpass, loop_seamless, lowpass, pink, smooth_random

LOOP_SECONDS = 6.0
CROSSFADE = 0.5  # seconds each scene bed overlaps the next (centred on the cut)

# word pattern → SFX loop; English words matched case-insensitively anywhere in the heading and action lines
PLACE_WORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("rain", re.compile(r"\b(rain\w*|downpour|drizzl\w*|storm\w*)\b|雨", re.IGNORECASE)),
    ("wind", re.compile(r"\b(wind|winds|windy|gust\w*|gale|blizzard)\b|大风|狂风|寒风|风声|刮风|风吹|风雪", re.IGNORECASE)),
    ("traffic", re.compile(
        r"\b(traffic|streets?|avenue|boulevard|highway|freeway|intersection|downtown|crosswalk|road)\b|车流|街道|街头|马路|路口",
        re.IGNORECASE,
    )),
    ("crowd_murmur", re.compile(
        r"\b(crowd\w*|bar|pub|restaurant|cafe|café|party|market|station|terminal|mall|nightclub|banquet)\b|"
        r"人群|餐厅|酒吧|宴会|市场|车站|火车站|商场|候车室|饭店",
        re.IGNORECASE,
    )),
    ("sea", re.compile(r"\b(sea|ocean|beach|shore|waves|surf|pier|dock|docks|harbou?r front|seafront)\b|海边|海浪|码头|海滩|大海", re.IGNORECASE)),
    ("birds", re.compile(r"\b(park|garden|forest|woods|meadow|countryside)\b|公园|花园|树林|森林|乡下", re.IGNORECASE)),
)  # fmt: skip

LOOP_GAIN_DB = {"rain": 9.0, "wind": 6.0, "traffic": 4.0, "crowd_murmur": 5.0, "sea": 7.0, "birds": 2.0}
INDOOR_DB = -8.0
ROOM_TONES = ("small_room", "hall", "stairwell", "outdoor", "car_interior")  # one per tasks.audio.rooms.ROOMS  # an outside sound heard through walls and windows


@dataclass(frozen=True, slots=True)
class SceneBed:
    """One scene's ambience: its room, the loops its words call for, its length in samples and a seed."""

    room: str
    loops: tuple[str, ...]
    samples: int
    seed: int = 0


def scene_loops(text: str) -> tuple[str, ...]:
    """The ambience loops a scene's heading and action text call for, in catalogue order."""
    return tuple(name for name, pattern in PLACE_WORDS if pattern.search(text))


def scene_bed(heading: str, interior: str | None, location: str, action: str, samples: int, seed: int) -> SceneBed:
    """The bed for a scene: room from the heading (tasks.audio.rooms.room_for), loops from heading + action."""
    from tasks.audio.rooms import room_for

    return SceneBed(room_for(heading, interior, location), scene_loops(f"{heading} {location} {action}"), samples, seed)


# ------------------------------------------------------------------------------------------------- room tones


def _unit(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x**2)) + 1e-12)


def _hum(n: int, rng: np.random.Generator, mains: float, harmonics: Sequence[float]) -> np.ndarray:
    t = np.arange(n) / RATE
    # harmonics of a whole number of cycles per loop, so the tone loops without a seam
    return sum(w * np.sin(2 * np.pi * round(mains * k * n / RATE) * t * RATE / n + rng.uniform(0, 6.3)) for k, w in harmonics)


def _room_tone(room: str, rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 2) shaped noise for ``room``, unit RMS; decorrelated channels (a diffuse field)."""
    out = np.zeros((n, 2))
    for ch in range(2):
        if room == "hall":  # big-space rumble and ventilation: dark, wide
            x = lowpass(brown(n, rng), 250) + 0.35 * bandpass(pink(n, rng), 200, 1500)
        elif room == "stairwell":  # hollow: the shaft's low resonances, a thin draft
            x = bandpass(pink(n, rng), 120, 900, order=2) + 0.25 * highpass(pink(n, rng), 2500)
        elif room == "outdoor":  # the city far off: low rumble that swells slowly, a little air
            x = lowpass(brown(n, rng), 200) * (0.7 + 0.3 * smooth_random(n, rng, 0.15)) + 0.2 * bandpass(pink(n, rng), 1500, 6000)
        elif room == "car_interior":  # road and engine through the body: heavy lows, muffled
            x = lowpass(brown(n, rng), 120, order=3) + 0.2 * lowpass(pink(n, rng), 700)
        else:  # small_room: air conditioning and a fridge somewhere
            x = lowpass(pink(n, rng), 1200) + 0.1 * highpass(pink(n, rng), 3000)
        out[:, ch] = _unit(highpass(x, 30.0))
    if room in ("small_room", "hall", "stairwell"):  # mains hum of lights and appliances, well under the air
        out += 0.12 * _unit(_hum(n, rng, float(rng.choice([50.0, 60.0])), ((1, 1.0), (2, 0.5), (3, 0.3))))[:, None]
    elif room == "car_interior":
        out += 0.2 * _unit(_hum(n, rng, rng.uniform(28, 36), ((1, 1.0), (2, 0.6))))[:, None]  # engine firing
    return _unit(out)


@lru_cache(maxsize=16)
def room_tone_loop(room: str, seed: int) -> np.ndarray:
    """A seamless LOOP_SECONDS room-tone loop (n, 2), unit RMS."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32(room.encode())])
    n = int(LOOP_SECONDS * RATE)
    k = int(0.25 * RATE)
    x = loop_seamless(_room_tone(room, rng, n + k), 0.25)
    return _unit(x).astype(np.float32)


@lru_cache(maxsize=16)
def place_loop(name: str, seed: int, indoor: bool) -> np.ndarray:
    """A seamless loop of SFX texture ``name`` (n, 2), at LOOP_GAIN_DB over a unit-RMS room tone."""
    from tasks.audio.sfx import EFFECTS, synthesize

    seconds = max(LOOP_SECONDS, EFFECTS[name].default_seconds)
    x = np.asarray(synthesize(name, seed=seed, duration=seconds + 0.25), np.float64)
    x = loop_seamless(x, 0.25)  # a texture that fills but does not loop by itself (birds) joins too
    gain = LOOP_GAIN_DB[name]
    if indoor:
        x = lowpass(x, 1200, order=2)
        gain += INDOOR_DB
    return (_unit(x) * 10 ** (gain / 20)).astype(np.float32)


def _tile(loop: np.ndarray, n: int, offset: int) -> np.ndarray:
    """``n`` samples of ``loop`` repeated, starting ``offset`` samples into it (a new float32 array)."""
    offset %= len(loop)
    out = np.empty((n, loop.shape[1]), np.float32)
    at = 0
    while at < n:
        piece = loop[offset : offset + n - at]
        out[at : at + len(piece)] = piece
        at += len(piece)
        offset = 0
    return out


def ambience_track(beds: Sequence[SceneBed]) -> np.ndarray:
    """The episode's ambience (Σ samples, 2) float32: each scene's bed, crossfaded at the cuts, faded in and out."""
    total = sum(b.samples for b in beds)
    out = np.zeros((total, 2), np.float32)
    half = int(CROSSFADE * RATE / 2)
    start = 0
    for i, bed in enumerate(beds):
        end = start + bed.samples
        lo, hi = max(0, start - half), min(total, end + half)
        n = hi - lo
        if n <= 0:
            start = end
            continue
        x = _tile(room_tone_loop(bed.room, bed.seed), n, lo)
        for name in bed.loops:
            x += _tile(place_loop(name, bed.seed, bed.room != "outdoor"), n, lo)
        fade_in = (start - lo) + half if i > 0 else int(0.3 * RATE)  # a cut: cross the previous bed; else fade in
        fade_out = (hi - end) + half if i + 1 < len(beds) else int(0.5 * RATE)
        fade_in, fade_out = min(fade_in, n // 2), min(fade_out, n // 2)
        if fade_in:  # equal power: uncorrelated beds keep their level through the cross
            x[:fade_in] *= np.sin(0.5 * np.pi * (np.arange(fade_in) + 0.5) / fade_in).astype(np.float32)[:, None]
        if fade_out:
            x[n - fade_out :] *= np.cos(0.5 * np.pi * (np.arange(fade_out) + 0.5) / fade_out).astype(np.float32)[:, None]
        out[lo:hi] += x
        start = end
    return out
