"""The score: procedural music that follows each scene's mood and exact length, with a beat grid for the editor.

Each mood is a small arrangement recipe (:class:`Style`): keys to pick from, a tempo range, a chord progression
(one chord per bar), and which instruments play — additive/wavetable pads, a bass line, plucked or FM-piano
arpeggios, brass stabs, tremolo strings, drums. ``compose`` renders exactly ``samples`` samples: the progression
cycles, the last full bar lands on the tonic and the music fades over the final bar (a musical ending, never a
chop). ``stinger=True`` adds a riser into a hit at the very end — the cliffhanger sting of vertical dramas.

Beats and bars are exported as integer sample positions so cuts can be placed on the beat.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError

RATE = 48_000
TABLE = 4096
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
CHORDS = {
    "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "sus2": (0, 2, 7),
    "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10), "dom7": (0, 4, 7, 10), "add9": (0, 4, 7, 14),
}  # fmt: skip


class ScoreError(ReelwrightError):
    """Music could not be composed or a user track could not be used."""


@dataclass(frozen=True, eq=False)
class Music:
    """Rendered music: (n, 2) float32 samples, beat and bar positions in samples, the key and tempo (bpm)."""

    samples: np.ndarray = field(repr=False)
    beats: tuple[int, ...]
    bars: tuple[int, ...]
    key: str
    tempo: float


@dataclass(frozen=True, slots=True)
class Style:
    """How one mood sounds. ``progression``: (semitones above the tonic, chord quality) per bar."""

    keys: tuple[tuple[int, str], ...]  # (tonic pitch class, "major" | "minor")
    tempo: tuple[float, float]
    progression: tuple[tuple[int, str], ...]
    pad: float  # levels of each part, 0 = silent
    bass: float
    arp: float
    brass: float = 0.0
    strings: float = 0.0
    drums: str = ""  # "", "pulse", "pop", "march", "woodblock", "heartbeat"
    brightness: float = 0.5  # 0 dark … 1 bright: harmonics kept and the bus lowpass
    arp_pattern: tuple[int, ...] = (0, 1, 2, 1)  # chord-tone indices per arp step
    arp_steps: int = 2  # arp notes per beat
    bass_pattern: str = "whole"  # "whole", "half", "eighths", "oompah", "pedal"


STYLES: dict[str, Style] = {
    "tense": Style(
        keys=((2, "minor"), (0, "minor"), (4, "minor")),
        tempo=(100, 116),
        progression=((0, "min"), (8, "maj"), (5, "min"), (7, "maj")),
        pad=0.5,
        bass=0.9,
        arp=0.35,
        strings=0.25,
        drums="pulse",
        brightness=0.35,
        arp_pattern=(0, 0, 2, 0),
        arp_steps=4,
        bass_pattern="eighths",
    ),
    "romantic": Style(
        keys=((5, "major"), (3, "major"), (8, "major")),
        tempo=(66, 78),
        progression=((0, "maj7"), (9, "min7"), (5, "maj7"), (7, "dom7")),
        pad=0.6,
        bass=0.6,
        arp=0.55,
        brightness=0.5,
        arp_pattern=(0, 1, 2, 3, 2, 1),
        arp_steps=2,
        bass_pattern="half",
    ),
    "sad": Style(
        keys=((9, "minor"), (2, "minor"), (11, "minor")),
        tempo=(58, 68),
        progression=((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),
        pad=0.7,
        bass=0.5,
        arp=0.4,
        strings=0.2,
        brightness=0.25,
        arp_pattern=(2, 1, 0, 1),
        arp_steps=1,
        bass_pattern="whole",
    ),
    "comedic": Style(
        keys=((0, "major"), (7, "major"), (5, "major")),
        tempo=(120, 138),
        progression=((0, "maj"), (5, "maj"), (7, "maj"), (0, "maj")),
        pad=0.0,
        bass=0.9,
        arp=0.7,
        drums="woodblock",
        brightness=0.85,
        arp_pattern=(0, 2, 1, 2),
        arp_steps=2,
        bass_pattern="oompah",
    ),
    "suspense": Style(
        keys=((4, "minor"), (1, "minor"), (5, "minor")),
        tempo=(70, 84),
        progression=((0, "min"), (1, "maj"), (0, "min"), (6, "dim")),
        pad=0.55,
        bass=0.8,
        arp=0.2,
        strings=0.4,
        drums="heartbeat",
        brightness=0.3,
        arp_pattern=(2, 0),
        arp_steps=1,
        bass_pattern="pedal",
    ),
    "triumphant": Style(
        keys=((2, "major"), (10, "major"), (0, "major")),
        tempo=(108, 124),
        progression=((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
        pad=0.3,
        bass=0.9,
        arp=0.3,
        brass=0.8,
        drums="march",
        brightness=0.9,
        arp_pattern=(0, 1, 2, 1),
        arp_steps=2,
        bass_pattern="eighths",
    ),
    "calm": Style(
        keys=((7, "major"), (2, "major"), (4, "major")),
        tempo=(72, 84),
        progression=((0, "maj7"), (0, "maj7"), (5, "maj7"), (5, "add9")),
        pad=0.65,
        bass=0.45,
        arp=0.45,
        brightness=0.45,
        arp_pattern=(0, 2, 1, 3),
        arp_steps=1,
        bass_pattern="whole",
    ),
}
ALIASES = {"neutral": "calm", "happy": "comedic", "action": "tense", "mystery": "suspense", "angry": "tense"}


def _hz(midi: float) -> float:
    return 440.0 * 2 ** ((midi - 69) / 12)


@lru_cache(maxsize=32)
def _table(harmonics: int, tilt: float) -> np.ndarray:
    """One cycle of a band-limited wave with ``harmonics`` partials falling as 1/k^tilt (saw-like at tilt 1)."""
    phase = np.arange(TABLE) / TABLE * 2 * np.pi
    k = np.arange(1, harmonics + 1)
    wave = (np.sin(np.outer(phase, k)) / k**tilt).sum(axis=1)
    return wave / np.abs(wave).max()


def _osc(freq: float, n: int, table: np.ndarray, phase: float = 0.0) -> np.ndarray:
    idx = ((np.arange(n) * (freq / RATE) + phase) * TABLE).astype(np.int64) & (TABLE - 1)
    return table[idx]


@lru_cache(maxsize=64)
def _env(n: int, attack: float, release: float) -> np.ndarray:
    """Raised-sine attack and release over ``n`` samples, 1.0 between them (read-only: cached, since every pad
    and string note of a cue has the same length). Only the two ramps are computed; sin(π/2)² is exactly 1."""
    out = np.ones(n)
    head = min(n, int(np.ceil(max(attack, 1e-3) * RATE)) + 2)  # past the end of the attack ramp
    t = np.arange(head) / RATE
    out[:head] *= np.sin(np.clip(t / max(attack, 1e-3), 0, 1) * np.pi / 2) ** 2
    tail = max(0, n - int(np.ceil(max(release, 1e-3) * RATE)) - 2)  # before the start of the release ramp
    t = np.arange(tail, n) / RATE
    out[tail:] *= np.sin(np.clip((n / RATE - t) / max(release, 1e-3), 0, 1) * np.pi / 2) ** 2
    out.setflags(write=False)
    return out


def _add(buf: np.ndarray, clip: np.ndarray, start: int, gain: float = 1.0, pan: float = 0.0) -> None:
    """Mix ``clip`` (mono (m,), panned; or stereo (m, 2)) into the channel-first buffer ``buf`` (2, n) at ``start``
    (channel-first: each channel's samples are contiguous, so adding a note is two plain vector adds)."""
    if start >= buf.shape[1]:
        return
    m = min(len(clip), buf.shape[1] - start)
    angle = (pan + 1) * np.pi / 4
    if clip.ndim == 1:
        buf[0, start : start + m] += gain * np.cos(angle) * clip[:m]
        buf[1, start : start + m] += gain * np.sin(angle) * clip[:m]
    else:
        buf[:, start : start + m] += gain * clip[:m].T


@lru_cache(maxsize=256)
def _pluck(midi: int, seconds: float, brightness: float) -> np.ndarray:
    """A plucked/struck string: harmonics whose decay shortens with their number (high partials die first)."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f = _hz(midi)
    out = np.zeros(n)
    for k in range(1, 2 + int(8 * brightness)):
        if f * k > 16000:
            break
        out += np.sin(2 * np.pi * f * k * t + k) * np.exp(-t * (2.0 + 1.6 * k) / seconds) / k
    return out * np.clip(t / 0.003, 0, 1)


@lru_cache(maxsize=256)
def _epiano(midi: int, seconds: float) -> np.ndarray:
    """An FM electric piano (ratio 1, decaying index): bell-ish attack, mellow sustain."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f = _hz(midi)
    index = 1.8 * np.exp(-t / 0.25)
    tone = np.sin(2 * np.pi * f * t + index * np.sin(2 * np.pi * f * t))
    return tone * np.exp(-t * 3.0 / seconds) * np.clip(t / 0.004, 0, 1)


@lru_cache(maxsize=64)
def _bass_note(midi: int, seconds: float, pluck: bool) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    f = _hz(midi)
    tone = np.sin(2 * np.pi * f * t) + 0.35 * np.sin(4 * np.pi * f * t) + 0.12 * np.sin(6 * np.pi * f * t)
    env = np.exp(-t * 4.0 / seconds) if pluck else np.ones(n)
    return tone * env * _env(n, 0.008, 0.05)


def _drum_kit(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One set of drum samples per cue, seeded: kick, snare, hat, woodblock, tick, thump, crash."""
    from scipy.signal import butter, sosfilt

    def noise(seconds: float, lo: float, hi: float, time60: float) -> np.ndarray:
        n = int(seconds * RATE)
        sos = butter(2, [lo, min(hi, 23000)], "band", fs=RATE, output="sos")
        return sosfilt(sos, rng.standard_normal(n)) * np.exp(-6.91 * np.arange(n) / RATE / time60)

    def drop(f0: float, f1: float, seconds: float, sweep: float) -> np.ndarray:
        t = np.arange(int(seconds * RATE)) / RATE
        freq = f1 + (f0 - f1) * np.exp(-t / sweep)
        return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * np.exp(-6.91 * t / seconds)

    t = np.arange(int(0.15 * RATE)) / RATE
    return {
        "kick": drop(140, 48, 0.45, 0.03) + 0.2 * noise(0.45, 1000, 5000, 0.01),
        "snare": 0.5 * drop(220, 180, 0.25, 0.05) + noise(0.25, 1500, 9000, 0.18),
        "hat": noise(0.08, 7000, 16000, 0.05) * 0.6,
        "block": np.sin(2 * np.pi * 1150 * t) * np.exp(-t / 0.018)
        + 0.4 * np.sin(2 * np.pi * 2650 * t) * np.exp(-t / 0.01),
        "tick": noise(0.03, 3000, 12000, 0.012),
        "thump": drop(70, 45, 0.3, 0.04),
        "crash": noise(1.6, 4000, 16000, 1.5) * 0.5,
    }


def _chord(tonic: int, root: int, quality: str, low: int = 55) -> list[int]:
    """MIDI notes of a chord voiced in the octave above ``low`` (close, stable voicing: smooth voice leading)."""
    notes = []
    for interval in CHORDS[quality]:
        pitch = tonic + root + interval
        while pitch < low:
            pitch += 12
        while pitch >= low + 12 + (2 if interval >= 12 else 0):
            pitch -= 12
        notes.append(pitch)
    return sorted(notes)


def _style(mood: str) -> tuple[str, Style]:
    name = ALIASES.get(mood.lower().strip(), mood.lower().strip())
    style = STYLES.get(name)
    if style is None:
        raise ScoreError(f"unknown music mood {mood!r}", field="mood", hint=f"use one of {', '.join(STYLES)}")
    return name, style


def _grid(n: int, tempo: float, meter: int = 4) -> tuple[tuple[int, ...], tuple[int, ...]]:
    beat = 60.0 / tempo * RATE
    count = int(np.ceil(n / beat))
    beats = tuple(int(round(k * beat)) for k in range(count) if round(k * beat) < n)
    return beats, beats[::meter]


def _render(
    style: Style, tonic: int, tempo: float, n: int, rng: np.random.Generator, end_bar: int
) -> np.ndarray:
    """All parts for ``n`` samples; from bar ``end_bar`` on only the held tonic chord (the ending) sounds."""
    from scipy.signal import butter, sosfilt

    beat = 60.0 / tempo * RATE
    bar = 4 * beat
    bars = int(np.ceil(n / bar))
    buf = np.zeros((2, n + int(3 * RATE)))  # channel-first (see _add)
    kit = _drum_kit(rng)
    bright = style.brightness
    pad_table = _table(4 + int(10 * bright), 1.3 - 0.4 * bright)
    brass_table = _table(6 + int(12 * bright), 0.9)
    bass_root = 36 + tonic if tonic < 6 else 24 + tonic  # E1–F2 range
    for b in range(bars):
        start = int(round(b * bar))
        ending = b >= end_bar
        root, quality = (
            (0, style.progression[0][1]) if ending else style.progression[b % len(style.progression)]
        )
        notes = _chord(tonic, root, quality)
        length = int((n - start if ending else bar) + 0.6 * RATE)
        if style.pad:
            for note in notes:
                for detune, side in (
                    (-0.07, -0.5),
                    (0.07, 0.5),
                ):  # two voices a few cents apart: chorus and width
                    tone = _osc(_hz(note + detune), length, pad_table, rng.random())
                    _add(buf, tone * _env(length, 0.35, 0.6), start, style.pad * 0.12, side)
        if style.strings:
            top = notes[-1] + 12
            trem = 0.6 + 0.4 * np.sin(2 * np.pi * 11.0 * np.arange(length) / RATE)  # bowed tremolo
            _add(
                buf,
                _osc(_hz(top), length, _table(12, 1.0), rng.random()) * trem * _env(length, 0.5, 0.6),
                start,
                style.strings * 0.1,
                0.3,
            )
        bass_note = bass_root + root
        if style.bass:
            _bass(buf, style, bass_note, start, beat, bar, ending, n - start)
        if ending:
            if style.arp:  # the last chord struck once, low to high, so the cue lands rather than stops
                for k, note in enumerate(notes):
                    tone = (
                        _pluck(note, 1.5, style.brightness) if style.brightness > 0.6 else _epiano(note, 2.0)
                    )
                    _add(buf, tone, start + int(k * 0.04 * RATE), style.arp * 0.2, 0.3 * (k - 1))
            break
        if style.arp:
            _arp(buf, style, notes, start, beat, rng)
        if style.brass:
            stab = 0.35 * beat / RATE
            for k in (0, 2, 3) if b % 2 else (0, 1.5, 3):
                for note in notes:
                    tone = _osc(_hz(note), int(stab * RATE * 1.6), brass_table, rng.random())
                    _add(
                        buf,
                        tone * _env(len(tone), 0.03, 0.12),
                        start + int(k * beat),
                        style.brass * 0.12,
                        rng.uniform(-0.4, 0.4),
                    )
        if style.drums and (b > 0 or bars < 4):
            _drums(buf, style.drums, kit, start, beat, b, rng)
    cutoff = 1800 + 9000 * bright**1.5
    sos = butter(2, cutoff, "low", fs=RATE, output="sos")
    return np.ascontiguousarray(sosfilt(sos, buf[:, :n], axis=-1).T)


def _bass(
    buf: np.ndarray, style: Style, note: int, start: int, beat: float, bar: float, ending: bool, left: int
) -> None:
    level = style.bass * 0.2
    if ending or style.bass_pattern in ("whole", "pedal"):
        seconds = (left if ending else bar) / RATE + 0.2
        _add(buf, _bass_note(note, round(seconds, 2), False), start, level)
        return
    if style.bass_pattern == "half":
        hits = [(0, note), (2, note + 7 if note + 7 < 48 else note)]
        length = 2 * beat
    elif style.bass_pattern == "oompah":
        hits = [(0, note), (2, note + 7 if note + 7 < 48 else note - 5)]
        length = 0.6 * beat
    else:  # eighths
        hits = [(k / 2, note) for k in range(8)]
        length = 0.45 * beat
    for at, pitch in hits:
        _add(buf, _bass_note(pitch, round(length / RATE, 3), True), start + int(round(at * beat)), level)


def _arp(
    buf: np.ndarray, style: Style, notes: list[int], start: int, beat: float, rng: np.random.Generator
) -> None:
    steps = 4 * style.arp_steps
    step = beat / style.arp_steps
    voiced = notes + [n + 12 for n in notes]
    sustain = round(min(1.2, 3.0 * step / RATE), 2)
    for k in range(steps):
        index = style.arp_pattern[k % len(style.arp_pattern)]
        pitch = voiced[index % len(voiced)] + 12 * (style.brightness > 0.6)
        velocity = (1.0 if k % style.arp_steps == 0 else 0.75) * rng.uniform(0.85, 1.0)
        if style.brightness > 0.6:
            tone = _pluck(pitch, round(min(0.5, sustain), 2), style.brightness)
        else:
            tone = _epiano(pitch, sustain)
        _add(buf, tone, start + int(round(k * step)), style.arp * 0.22 * velocity, 0.35 * np.sin(k))


def _drums(
    buf: np.ndarray,
    kind: str,
    kit: dict[str, np.ndarray],
    start: int,
    beat: float,
    bar: int,
    rng: np.random.Generator,
) -> None:
    def hit(name: str, at: float, gain: float, pan: float = 0.0) -> None:
        _add(buf, kit[name], start + int(round(at * beat)), gain * rng.uniform(0.85, 1.0), pan)

    if kind == "pulse":
        for k in (0, 2):
            hit("kick", k, 0.45)
        for k in range(16):
            hit("tick", k / 4, 0.12 if k % 4 else 0.2, 0.3)
    elif kind == "march":
        for k in (0, 2):
            hit("kick", k, 0.5)
        for k in (1, 3):
            hit("snare", k, 0.35)
        for k in range(8):
            hit("hat", k / 2, 0.15, -0.3)
        if bar % 4 == 1:
            hit("crash", 0, 0.25)
    elif kind == "woodblock":
        for k in (0.5, 1.5, 2.5, 3.5):
            hit("block", k, 0.25, 0.4)
        hit("kick", 0, 0.3)
    elif kind == "heartbeat":
        hit("thump", 0, 0.6)
        hit("thump", 0.4, 0.4)


def _stinger(n: int, tonic: int, minor: bool, rng: np.random.Generator) -> np.ndarray:
    """A riser (noise and a gliding tone, crescendo) into a hit: boom, chord stab, crash; decays by the end."""
    from scipy.signal import butter, sosfilt

    out = np.zeros((2, n))  # channel-first (see _add)
    tail = int(min(1.2 * RATE, 0.4 * n))
    hit_at = n - tail
    rise = int(min(1.6 * RATE, hit_at))
    if rise > 0:
        t = np.arange(rise) / RATE
        u = t / (rise / RATE)
        noise = sosfilt(butter(2, [800, 9000], "band", fs=RATE, output="sos"), rng.standard_normal(rise))
        glide = np.sin(2 * np.pi * np.cumsum(_hz(48 + tonic) * 2 ** (2.5 * u)) / RATE)
        riser = (0.25 * noise * u**2 + 0.3 * glide * u**3) * (u**1.5)
        _add(out, riser, hit_at - rise, 0.8)
    m = tail
    t = np.arange(m) / RATE
    decay = np.exp(-6.91 * t / (m / RATE * 0.9)) * np.clip((m / RATE - t) / 0.02, 0, 1)
    boom = np.sin(2 * np.pi * np.cumsum(45 + 90 * np.exp(-t / 0.05)) / RATE)
    stab = sum(
        _osc(_hz(p), m, _table(14, 0.9), rng.random())
        for p in _chord(tonic, 0, "min" if minor else "maj", 48)
        + _chord(tonic, 0, "min" if minor else "maj", 60)
    )
    crash = sosfilt(butter(2, 5000, "high", fs=RATE, output="sos"), rng.standard_normal(m))
    hit = (0.9 * boom + 0.12 * stab * np.exp(-t / 0.35) + 0.25 * crash) * decay
    _add(out, np.stack([hit, np.roll(hit, 29)], axis=1), hit_at, 1.0)
    return out.T


def compose(
    mood: str, samples: int, *, seed: int, stinger: bool = False, tempo: float | None = None
) -> Music:
    """Music for one scene: exactly ``samples`` samples of ``mood`` (tense, romantic, sad, comedic, suspense,
    triumphant, calm), ending on the tonic and fading over the last bar; ``stinger`` adds a riser and hit."""
    if samples < int(0.5 * RATE):
        raise ScoreError(
            f"samples={samples} is under half a second",
            field="samples",
            hint="compose at least 24000 samples",
        )
    if tempo is not None and not 40 <= tempo <= 220:
        raise ScoreError(f"tempo={tempo} bpm is outside 40–220", field="tempo")
    name, style = _style(mood)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(name.encode())])
    tonic, mode = style.keys[int(rng.integers(len(style.keys)))]
    bpm = float(tempo) if tempo is not None else float(round(rng.uniform(*style.tempo)))
    bar = 4 * 60.0 / bpm * RATE
    full_bars = int(samples // bar)
    end_bar = max(full_bars - 1, 0) if full_bars >= 2 else 0
    music = _render(style, tonic, bpm, samples, rng, end_bar)
    fade_from = int(round(end_bar * bar + (60.0 / bpm * RATE if end_bar else 0)))
    fade_from = min(fade_from, samples - int(min(bar, samples / 2)))
    u = np.clip((np.arange(samples) - fade_from) / max(samples - fade_from, 1), 0, 1)
    music *= (np.cos(u * np.pi / 2) ** 2)[:, None]
    rms = np.sqrt(np.mean(music**2))
    music *= 10 ** (-20 / 20) / max(rms, 1e-9)  # every cue at the same level (−20 dBFS RMS); the mix balances
    if stinger:
        music += _stinger(samples, tonic, mode == "minor", rng) * 0.5
    peak = np.abs(music).max()
    if peak > 0.89:
        music *= 0.89 / peak
    beats, bars = _grid(samples, bpm)
    key = f"{NOTE_NAMES[tonic]} {mode}"
    return Music(samples=music.astype(np.float32), beats=beats, bars=bars, key=key, tempo=bpm)


def episode_music(scenes: Sequence[tuple[str, int, int, bool]], crossfade_ms: float = 800.0) -> Music:
    """One track for the episode: each (mood, samples, seed, stinger) scene composed, crossfaded into the next.

    The result is exactly ``sum(samples)`` long. A scene's cue runs ``crossfade_ms`` into the next scene (its
    ending fade overlaps the next cue's fade-in), so music changes with the scene without a gap or a jump. The
    beat grid is each scene's own grid from its start; ``key``/``tempo`` are the longest scene's.
    """
    if not scenes:
        raise ScoreError(
            "no scenes to score", field="scenes", hint="pass at least one (mood, samples, seed, stinger)"
        )
    if not 0 <= crossfade_ms <= 5000:
        raise ScoreError(
            f"crossfade_ms={crossfade_ms} is outside 0–5000", field="crossfade_ms", hint="use ~800 ms"
        )
    total = sum(int(s[1]) for s in scenes)
    x = int(crossfade_ms * RATE / 1000)
    out = np.zeros((total, 2), np.float32)
    beats: list[int] = []
    bars: list[int] = []
    start = 0
    longest = max(range(len(scenes)), key=lambda i: scenes[i][1])
    key, tempo = "", 0.0
    for i, (mood, length, seed, sting) in enumerate(scenes):
        last = i == len(scenes) - 1
        length = int(length)
        if length <= 0:
            raise ScoreError(
                f"scene {i} has {length} samples",
                field=f"scenes[{i}]",
                hint="every scene needs a positive length",
            )
        span = length + (0 if last else x)
        cue = compose(mood, max(span, int(0.5 * RATE)), seed=seed, stinger=sting)
        clip = cue.samples[: total - start]
        if i > 0 and x:
            k = min(x, len(clip))
            clip = clip.copy()
            clip[:k] *= np.sin(np.linspace(0, np.pi / 2, k))[
                :, None
            ]  # equal-power fade-in under the outgoing tail
        out[start : start + len(clip)] += clip
        end = start + length
        beats += [start + b for b in cue.beats if start + b < end]
        bars += [start + b for b in cue.bars if start + b < end]
        if i == longest:
            key, tempo = cue.key, cue.tempo
        start = end
    peak = np.abs(out).max()
    if peak > 0.89:
        out *= 0.89 / peak
    return Music(samples=out, beats=tuple(beats), bars=tuple(bars), key=key, tempo=tempo)


def _onset_envelope(mono: np.ndarray, hop: int = 512) -> np.ndarray:
    """Spectral flux (half-wave rectified log-magnitude increase per frame): where notes and drums start."""
    frames = (len(mono) - 2048) // hop
    if frames < 16:
        return np.zeros(0)
    idx = np.arange(2048)[None, :] + hop * np.arange(frames)[:, None]
    spec = np.log1p(100 * np.abs(np.fft.rfft(mono[idx] * np.hanning(2048), axis=1)))
    flux = np.maximum(np.diff(spec, axis=0), 0).sum(axis=1)
    return flux - np.convolve(flux, np.ones(16) / 16, mode="same")


def beat_grid(samples: np.ndarray, rate: int = RATE) -> tuple[float, int]:
    """(tempo in bpm, first beat in samples) by autocorrelating the onset envelope over 60–180 bpm.

    Lags are weighted by a broad preference around 110 bpm (the octave errors of autocorrelation otherwise pick
    half or double time); the phase is the offset whose beat train collects the most onset strength.
    """
    mono = np.asarray(samples, np.float64).reshape(len(samples), -1).mean(axis=1)
    hop = 512
    env = np.maximum(_onset_envelope(mono, hop), 0)
    if len(env) < 32 or not env.any():
        raise ScoreError("no rhythm found", hint="the track is too short or silent; pass a longer music file")
    fps = rate / hop
    ac = np.correlate(env - env.mean(), env - env.mean(), mode="full")[len(env) - 1 :]
    lags = np.arange(int(fps * 60 / 180), int(fps * 60 / 60) + 1)
    lags = lags[lags < len(ac)]
    if len(lags) == 0:
        raise ScoreError("the track is shorter than one beat", hint="pass at least a few seconds of music")
    weight = np.exp(-0.5 * (np.log2(60 * fps / lags / 110.0) / 0.6) ** 2)
    best = lags[np.argmax(ac[lags] * weight)]
    # refine the lag to a fraction of a frame with a parabola through the peak
    if 1 <= best < len(ac) - 1:
        a, b, c = ac[best - 1], ac[best], ac[best + 1]
        offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    else:
        offset = 0.0
    period = (best + float(np.clip(offset, -0.5, 0.5))) / fps  # seconds per beat
    phases = np.arange(int(period * fps) + 1)
    score = [
        env[np.round(np.arange(p, len(env), period * fps)).astype(int).clip(0, len(env) - 1)].sum()
        for p in phases
    ]
    first = int(phases[int(np.argmax(score))] * hop + 1024)  # frame centre
    return 60.0 / period, first


def _loop_bars(audio: np.ndarray, first: int, loop: int, samples: int) -> np.ndarray:
    """Repeat ``audio[first:first+loop]`` (whole bars) after the intro until ``samples`` are covered.

    Each repeat starts exactly on its bar line; the outgoing repeat fades out over the 30 ms before it while the
    incoming one fades in from the audio just before its loop point, so the seam neither clicks nor shifts the beat.
    """
    k = min(int(0.03 * RATE), first, loop // 4)
    repeats = int(np.ceil(max(samples - first - loop, 0) / loop)) + 1
    out = np.zeros((first + loop * (repeats + 1), 2), np.float64)
    out[: first + loop] = audio[: first + loop]
    ramp = np.linspace(0.0, 1.0, k)[:, None] if k else np.zeros((0, 1))
    for r in range(1, repeats + 1):
        at = first + r * loop
        if k:
            out[at - k : at] *= 1 - ramp
            out[at - k : at] += audio[first - k : first] * ramp
        out[at : at + loop] += audio[first : first + loop]
    return out


def load_user_track(path: str | Path, samples: int) -> Music:
    """A producer's music file looped or trimmed to exactly ``samples``: whole bars are looped (crossfaded at the
    bar line) and the end fades over the last bar, so the edit stays on the beat."""
    from tasks.audio.wav import WavError, read_audio

    path = Path(path)
    try:
        audio = read_audio(path)
    except WavError as exc:
        raise ScoreError(
            exc.message, file=path, hint=exc.hint or "pass a WAV, MP3 or FLAC music file"
        ) from None
    if len(audio) < 2 * RATE:
        raise ScoreError(
            f"the track is {len(audio) / RATE:.2f} s long", file=path, hint="use a music file of at least 2 s"
        )
    if np.abs(audio).max() < 1e-4:
        raise ScoreError("the track is silent", file=path, hint="check the file plays")
    try:
        tempo, first = beat_grid(audio)
    except ScoreError as exc:
        raise ScoreError(exc.message, file=path, hint=exc.hint) from None
    beat = 60.0 / tempo * RATE
    bar = 4 * beat
    whole = int((len(audio) - first) // bar)
    track = audio
    if whole >= 1 and len(audio) < samples:
        track = _loop_bars(audio, first, int(round(whole * bar)), samples)
    if len(track) < samples:
        track = np.concatenate([track, np.zeros((samples - len(track), 2), np.float32)])
    track = np.array(track[:samples], dtype=np.float64)
    fade_len = int(min(bar, samples / 2))
    u = np.clip((np.arange(samples) - (samples - fade_len)) / max(fade_len, 1), 0, 1)
    track *= (np.cos(u * np.pi / 2) ** 2)[:, None]
    beats = tuple(
        int(round(first + k * beat))
        for k in range(int((samples - first) / beat) + 1)
        if first + k * beat < samples
    )
    return Music(
        samples=track.astype(np.float32), beats=beats, bars=beats[::4], key="unknown", tempo=round(tempo, 2)
    )
