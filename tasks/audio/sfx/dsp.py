"""Building blocks for procedural effects: modal resonators, filtered noise, envelopes, placement and panning.

Everything is vectorised numpy over whole events (no per-sample Python loops), mono float64 unless stated, at
48 kHz. Physical-ish models, because they vary naturally with a seed: a struck object is a sum of exponentially
decaying modes (frequencies, decays and gains from the material); friction is a train of stick-slip pulses
exciting the same modes; turbulence (wind, rain, breath, tyres) is noise shaped by filters and slow envelopes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

RATE = 48_000


def seconds(n: int) -> np.ndarray:
    return np.arange(n) / RATE


def count(duration: float) -> int:
    return max(1, int(round(duration * RATE)))


def modal(freqs, decays, gains, duration: float, *, phases: np.ndarray | None = None) -> np.ndarray:
    """Sum of damped sines: mode i rings at ``freqs[i]`` Hz and falls 60 dB in ``decays[i]`` seconds."""
    t = seconds(count(duration))[:, None]
    f = np.asarray(freqs, dtype=np.float64)[None, :]
    d = np.asarray(decays, dtype=np.float64)[None, :]
    g = np.asarray(gains, dtype=np.float64)[None, :]
    keep = f < RATE * 0.45  # modes above Nyquist would alias into low whistles
    ph = np.zeros_like(f) if phases is None else np.asarray(phases, dtype=np.float64)[None, :]
    out = g * np.exp(-6.91 * t / d) * np.sin(2 * np.pi * f * t + ph)
    return (out * keep).sum(axis=1)


@lru_cache(maxsize=64)
def _sos(kind: str, lo: float, hi: float, order: int) -> np.ndarray:
    from scipy.signal import butter

    nyq = RATE / 2 * 0.98
    if kind == "band":
        return butter(order, [max(lo, 10.0), min(hi, nyq)], "band", fs=RATE, output="sos")
    return butter(order, min(lo, nyq), kind, fs=RATE, output="sos")


def bandpass(x: np.ndarray, lo: float, hi: float, order: int = 2) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(_sos("band", round(lo, 1), round(hi, 1), order), x, axis=0)


def lowpass(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(_sos("low", round(cutoff, 1), 0.0, order), x, axis=0)


def highpass(x: np.ndarray, cutoff: float, order: int = 2) -> np.ndarray:
    from scipy.signal import sosfilt

    return sosfilt(_sos("high", round(cutoff, 1), 0.0, order), x, axis=0)


def resonator(x: np.ndarray, freq: float, q: float) -> np.ndarray:
    """A two-pole resonance (peaking bandpass) at ``freq`` with quality ``q``: a cavity, a body, a horn bell."""
    from scipy.signal import iirpeak, lfilter

    b, a = iirpeak(min(freq, RATE * 0.45), q, fs=RATE)
    return lfilter(b, a, x, axis=0)


def decay(n: int, time60: float, attack: float = 0.0005) -> np.ndarray:
    """Exponential decay to −60 dB at ``time60`` s after a short linear attack (avoids a click)."""
    t = seconds(n)
    return np.exp(-6.91 * t / time60) * np.clip(t / max(attack, 1e-6), 0.0, 1.0)


def fades(x: np.ndarray, fade_in: float = 0.005, fade_out: float = 0.02) -> np.ndarray:
    """Raised-cosine fade in and out, so a trimmed or looped texture never starts or stops on a click."""
    y = np.array(x, dtype=np.float64, copy=True)
    for length, sl in ((int(fade_in * RATE), slice(None)), (int(fade_out * RATE), slice(None, None, -1))):
        length = min(length, len(y) // 2)
        if length > 0:
            ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, length))
            view = y[sl]
            view[:length] *= ramp if y.ndim == 1 else ramp[:, None]
    return y


def layer(*parts: np.ndarray) -> np.ndarray:
    """Sum arrays of different lengths, aligned at their starts (a thump and its longer ring, say)."""
    n = max(len(p) for p in parts)
    out = np.zeros((n, *parts[0].shape[1:]))
    for p in parts:
        out[: len(p)] += p
    return out


def place(out: np.ndarray, clip: np.ndarray, at: float | int, gain: float = 1.0) -> None:
    """Add ``clip`` into ``out`` at ``at`` (seconds if float, samples if int), clipped to ``out``."""
    start = int(round(at * RATE)) if isinstance(at, float) else int(at)
    if start >= len(out) or start + len(clip) <= 0:
        return
    lo = max(0, -start)
    hi = min(len(clip), len(out) - start)
    out[start + lo : start + hi] += gain * clip[lo:hi]


def pan(mono: np.ndarray, position: float) -> np.ndarray:
    """Constant-power pan: −1 left, 0 centre (both at −3 dB), +1 right. Returns (n, 2)."""
    angle = (np.clip(position, -1.0, 1.0) + 1.0) * np.pi / 4
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


def pan_curve(mono: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Pan that moves: ``positions`` (n,) in [−1, 1] per sample."""
    angle = (np.clip(positions, -1.0, 1.0) + 1.0) * np.pi / 4
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


def brown(n: int, rng: np.random.Generator) -> np.ndarray:
    """Brown (1/f²) noise, leaky-integrated so it does not drift: the rumble under thunder and engines."""
    from scipy.signal import lfilter

    y = lfilter([1.0], [1.0, -0.997], rng.standard_normal(n))
    return y / (np.std(y) + 1e-12)


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f) noise by Paul Kellet's filter: rain, wind, crowds."""
    from scipy.signal import lfilter

    b = [0.049922035, -0.095993537, 0.050612699, -0.004408786]
    a = [1, -2.494956002, 2.017265875, -0.522189400]
    y = lfilter(b, a, rng.standard_normal(n))
    return y / (np.std(y) + 1e-12)


def smooth_random(
    n: int, rng: np.random.Generator, rate_hz: float, lo: float = 0.0, hi: float = 1.0
) -> np.ndarray:
    """A slowly wandering control signal (n,) in [lo, hi]: random points every 1/rate_hz s, cosine-interpolated.

    The curve is computed on a 1 ms grid and linearly interpolated to samples (a control signal needs no more).
    """
    points = max(2, int(n / RATE * rate_hz) + 2)
    values = rng.uniform(lo, hi, points)
    step = 48
    grid = np.arange(0, n + step, step)
    pos = grid / RATE * rate_hz
    i = np.minimum(pos.astype(int), points - 2)
    frac = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    coarse = values[i] * (1 - frac) + values[i + 1] * frac
    return np.interp(np.arange(n), grid, coarse)


def chirp(f0: float, f1: float, duration: float, *, curve: str = "exp") -> np.ndarray:
    """A sine sweeping from ``f0`` to ``f1`` Hz (exponential or linear): birds, bubbles, risers."""
    n = count(duration)
    x = np.linspace(0.0, 1.0, n)
    freq = f0 * (f1 / f0) ** x if curve == "exp" else f0 + (f1 - f0) * x
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE)


def pitched_thump(f_start: float, f_end: float, duration: float, sweep: float = 0.04) -> np.ndarray:
    """A sine whose pitch drops fast from ``f_start`` to ``f_end``: kicks, punches, heartbeats, body hits."""
    n = count(duration)
    t = seconds(n)
    freq = f_end + (f_start - f_end) * np.exp(-t / sweep)
    return np.sin(2 * np.pi * np.cumsum(freq) / RATE) * decay(n, duration, attack=0.001)


def loop_seamless(x: np.ndarray, overlap: float = 0.25) -> np.ndarray:
    """Make a texture loop without a seam: its last ``overlap`` s are crossfaded onto its first and cut off."""
    k = min(int(overlap * RATE), len(x) // 3)
    if k <= 0:
        return x
    head, body, tail = x[:k], x[k:-k], x[-k:]
    w = np.sqrt(np.linspace(0.0, 1.0, k))
    w = w if x.ndim == 1 else w[:, None]
    joined = tail * w[::-1] + head * w  # equal-power: the loop end flows into the loop start
    return np.concatenate([body, joined])
