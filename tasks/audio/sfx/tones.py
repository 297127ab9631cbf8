"""Things that beep, ring and wail: phones, chimes, horns, sirens, doorbells. FM and additive synthesis.

Electronic sounds are simple periodic waveforms (which is why an FM operator pair imitates them so well);
mechanical ones (a phone's vibration motor rattling on a table) are periodic too, with the rattle's harmonics.
"""

from __future__ import annotations

import numpy as np

from tasks.audio.sfx.dsp import RATE, bandpass, count, decay, layer, place, resonator


def _j(rng: np.random.Generator, value: float, spread: float) -> float:
    return float(value * rng.uniform(1 - spread, 1 + spread))


def fm_note(
    freq: float, duration: float, *, ratio: float, index: float, index_decay: float, time60: float
) -> np.ndarray:
    """Two-operator FM: a bell when the ratio is inharmonic, an electric piano or marimba when it is whole."""
    n = count(duration)
    t = np.arange(n) / RATE
    mod_index = index * np.exp(-t / index_decay)
    return np.sin(2 * np.pi * freq * t + mod_index * np.sin(2 * np.pi * freq * ratio * t)) * decay(
        n, time60, attack=0.002
    )


def phone_buzz(rng: np.random.Generator, length: float) -> np.ndarray:
    """A phone vibrating on a table: the motor's ~170 Hz hum rattling the case (clipped, so rich in harmonics),
    in pulses of ~0.4 s on and 0.25 s off — a strongly periodic signal at the motor rate."""
    f = _j(rng, 170, 0.08)
    on, off = _j(rng, 0.4, 0.1), _j(rng, 0.25, 0.15)
    pulses = int(rng.choice([2, 3]))
    out = np.zeros(count(pulses * (on + off) + 0.1))
    for k in range(pulses):
        n = count(on)
        t = np.arange(n) / RATE
        hum = np.clip(1.6 * np.sin(2 * np.pi * f * t), -1, 1) + 0.3 * np.sin(4 * np.pi * f * t)
        env = np.clip(t / 0.02, 0, 1) * np.clip((on - t) / 0.03, 0, 1)
        place(out, resonator(hum, 2 * f, 4) * 0.5 * env + hum * env * 0.5, k * (on + off) + 0.01)
    return out


def phone_ring(rng: np.random.Generator, length: float) -> np.ndarray:
    """A smartphone ringtone: a marimba-like FM arpeggio (whole-number ratio), played twice with a pause."""
    root = _j(rng, 660, 0.1)
    steps = rng.choice([[0, 4, 7, 12, 7, 4], [0, 7, 12, 16, 12, 7], [0, 3, 7, 10, 7, 3]])
    note_len = _j(rng, 0.14, 0.1)
    phrase = len(steps) * note_len
    out = np.zeros(count(2 * phrase + 0.6 + 0.5))
    for rep in range(2):
        for k, step in enumerate(steps):
            f = root * 2 ** (step / 12)
            note = fm_note(f, 0.4, ratio=1.0, index=2.5, index_decay=0.03, time60=0.35)
            note = layer(note, 0.3 * fm_note(f * 4, 0.1, ratio=1.0, index=1.0, index_decay=0.01, time60=0.05))
            place(out, note, rep * (phrase + 0.6) + k * note_len)
    return out


def notification(rng: np.random.Generator, length: float) -> np.ndarray:
    """A message alert: two bright bell-like FM notes a fifth or fourth apart."""
    f = _j(rng, 1320, 0.12)
    second = f * (1.5 if rng.random() < 0.5 else 4 / 3)
    out = np.zeros(count(0.9))
    for k, freq in enumerate((f, second)):
        place(
            out,
            fm_note(freq, 0.6, ratio=3.5, index=1.2, index_decay=0.08, time60=0.5),
            0.005 + k * _j(rng, 0.11, 0.1),
        )
    return out


def doorbell(rng: np.random.Generator, length: float) -> np.ndarray:
    """A two-tone chime doorbell (ding-dong): struck tubular bells, a major third apart."""
    hi = _j(rng, 700, 0.1)
    out = np.zeros(count(2.0))
    for k, f in enumerate((hi, hi / 1.26)):
        place(
            out,
            fm_note(f, 1.5, ratio=2.76, index=1.5, index_decay=0.3, time60=1.4),
            0.005 + k * _j(rng, 0.5, 0.1),
        )
    return out


def car_horn(rng: np.random.Generator, length: float) -> np.ndarray:
    """A car horn: two diaphragm horns a third apart (≈ 420 / 520 Hz), buzzy square-ish tones through a horn bell."""
    duration = _j(rng, 0.7, 0.25) if length <= 0 else min(max(length, 0.2), 3.0)
    n = count(duration)
    t = np.arange(n) / RATE
    low = _j(rng, 420, 0.05)
    tone = np.zeros(n)
    for f in (low, low * 1.24):
        tone += np.tanh(
            3 * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3))
        )  # the diaphragm slaps: near-square
    tone = resonator(tone, _j(rng, 1500, 0.1), 1.2) + 0.5 * bandpass(tone, 300, 4000)
    env = np.clip(t / 0.015, 0, 1) * np.clip((duration - t) / 0.03, 0, 1)
    return tone * env


def siren(rng: np.random.Generator, length: float) -> np.ndarray:
    """An emergency siren: a wail sweeping 650–1500 Hz (or a hi-lo two-tone), a little distant."""
    duration = max(length, 3.0)
    n = count(duration)
    t = np.arange(n) / RATE
    if rng.random() < 0.5:
        period = _j(rng, 3.5, 0.15)
        freq = 1075 + 425 * np.sin(2 * np.pi * t / period - np.pi / 2)
    else:
        half = _j(rng, 0.55, 0.1)
        freq = np.where((t // half) % 2 == 0, 960.0, 770.0) * rng.uniform(0.97, 1.03)
    phase = 2 * np.pi * np.cumsum(freq) / RATE
    tone = np.sin(phase) + 0.35 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)
    return bandpass(tone, 400, 5000) * np.clip(t / 0.3, 0, 1)
