"""The episode mix: dialogue on top, music ducked under speech, effects beside it, delivered at −14 LUFS / −1 dBTP.

Order of work, and why:
1. **Balance.** Stems arrive at whatever level their generators produced. Music and effects are set relative to
   the dialogue's speaking level (``music_db``, ``effects_db``), so the mix sounds the same whatever TTS engine or
   score generator made the parts.
2. **Duck.** The music is lowered ``duck_db`` under speech. The sidechain is the dialogue's 5 ms RMS envelope;
   gaps shorter than ``hold_ms`` between words stay ducked (no pumping between close words); the gain ramps down
   over ``attack_ms`` *before* a line starts (offline look-ahead, so the first syllable is already clear) and back
   up over ``release_ms`` after it. If the music is still within ``min_speech_to_music_db`` of the quietest phrase,
   the whole bed is lowered until it is not.
3. **Loudness.** One gain brings the sum to ``target_lufs`` (ITU-R BS.1770 / EBU R128 integrated loudness via
   pyloudnorm); a look-ahead true-peak limiter (4× oversampled peak detection) keeps it under ``true_peak_db``;
   limiting lowers loudness, so gain and limiter are re-run until both hold.
The bus gain and the limiter's gain curve are applied to every stem alike, so ``dialogue + music + effects`` is
the mix (to float32 rounding) and ``me`` (music + effects, the international track) lines up with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from schemas.errors import ReelwrightError

FRAME_MS = 5.0
OVERSAMPLE = 4


class MixError(ReelwrightError):
    """The stems cannot be mixed as given."""


@dataclass(frozen=True, eq=False)
class Mix:
    """A finished mix. ``duck_gain`` (n,) is the linear gain the ducker applied to the music bed (1.0 = no duck)."""

    mix: np.ndarray  # (n, 2) float32
    stems: dict[str, np.ndarray] = field(repr=False)  # dialogue, music, effects, me: (n, 2) float32 each
    integrated_lufs: float
    true_peak_dbtp: float
    duck_gain: np.ndarray = field(repr=False)  # (n,) float32
    speech: np.ndarray = field(repr=False)  # (n,) bool: where the ducker heard speech (after the hold)
    speech_to_music_db: float  # quietest phrase's speech-to-music ratio; inf when there is no speech or music


def _stereo(x: np.ndarray, name: str, n: int | None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 1:
        a = np.repeat(a[:, None], 2, axis=1)
    elif a.ndim == 2 and a.shape[1] == 1:
        a = np.repeat(a, 2, axis=1)
    if a.ndim != 2 or a.shape[1] != 2:
        raise MixError(f"expected (n,) or (n, 2) samples, got shape {np.shape(x)}", field=name, hint="pass mono or stereo audio")
    if n is not None and len(a) != n:
        raise MixError(
            f"has {len(a)} samples but the dialogue has {n}", field=name,
            hint="place every stem on the same episode timeline (same length) before mixing",
        )  # fmt: skip
    if not np.all(np.isfinite(a)):
        raise MixError("contains NaN or infinity", field=name, hint="check the step that rendered this stem")
    return a


def _db(power: float) -> float:
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def true_peak(samples: np.ndarray) -> np.ndarray:
    """Per-sample true peak (n,): the largest |value| of the 4× oversampled signal around each sample, all channels."""
    from scipy.signal import resample_poly

    x = np.asarray(samples, dtype=np.float64)
    x = x.reshape(len(x), -1)
    peak = np.zeros(len(x))
    for ch in range(x.shape[1]):  # per channel: a reduce over a 2-wide axis is far slower than np.maximum
        up = np.abs(resample_poly(x[:, ch], OVERSAMPLE, 1)).reshape(len(x), OVERSAMPLE)
        peak = np.maximum(peak, np.maximum(np.maximum(up[:, 0], up[:, 1]), np.maximum(up[:, 2], up[:, 3])))
    return np.maximum(peak, np.abs(x).max(axis=1) if x.shape[1] > 1 else np.abs(x[:, 0]))


def loudness(samples: np.ndarray, rate: int = 48_000) -> float:
    """Integrated loudness (LUFS, BS.1770-4 gated) of (n,) or (n, ch) samples; silence gives -inf."""
    import pyloudnorm

    x = np.asarray(samples, dtype=np.float64)
    x = x.reshape(len(x), -1)
    if len(x) == 0 or not np.any(x):
        return float("-inf")
    block = int(0.4 * rate)
    if len(x) < block:  # the gated measurement needs one 400 ms block; silence padding is gated out
        x = np.concatenate([x, np.zeros((block - len(x), x.shape[1]))])
    with np.errstate(divide="ignore"):
        return float(pyloudnorm.Meter(rate).integrated_loudness(x))


def measure(samples: np.ndarray, rate: int = 48_000) -> tuple[float, float]:
    """(integrated loudness in LUFS, true peak in dBTP) per BS.1770-4. Silence gives (-inf, -inf)."""
    x = np.asarray(samples)
    if len(x) == 0 or not np.any(x):
        return float("-inf"), float("-inf")
    return loudness(x, rate), 20.0 * float(np.log10(true_peak(x).max()))


def _frame_rms(mono: np.ndarray, hop: int) -> np.ndarray:
    frames = len(mono) // hop + (1 if len(mono) % hop else 0)
    padded = np.zeros(frames * hop, np.float64)
    padded[: len(mono)] = mono
    return np.sqrt(np.mean(padded.reshape(frames, hop) ** 2, axis=1))


def _fill_short_gaps(active: np.ndarray, max_gap: int) -> np.ndarray:
    """Mark inactive runs of at most ``max_gap`` frames that sit between two active frames as active."""
    out = active.copy()
    edges = np.flatnonzero(np.diff(active.astype(np.int8)))
    starts = edges[active[edges]] + 1  # active → inactive
    ends = edges[~active[edges]] + 1  # inactive → active
    for s in starts:
        later = ends[ends > s]
        if len(later) and later[0] - s <= max_gap:
            out[s : later[0]] = True
    return out


def speech_frames(dialogue: np.ndarray, rate: int = 48_000, *, hold_ms: float = 400.0) -> np.ndarray:
    """Per 5 ms frame: is someone speaking? RMS above both −60 dBFS and 35 dB under the loud speech level."""
    mono = np.asarray(dialogue, dtype=np.float64)
    mono = mono.mean(axis=1) if mono.ndim == 2 else mono
    hop = int(rate * FRAME_MS / 1000)
    rms = _frame_rms(mono, hop)
    loud = np.percentile(rms, 99) if len(rms) else 0.0
    threshold = max(10 ** (-60 / 20), loud * 10 ** (-35 / 20))
    active = rms > threshold
    if not active.any():
        return active
    return _fill_short_gaps(active, int(round(hold_ms / FRAME_MS)))


def duck_curve(
    active: np.ndarray, n: int, rate: int, *, duck_db: float, attack_ms: float, release_ms: float
) -> np.ndarray:
    """Linear music gain (n,) from per-frame speech activity: ramps of ``attack_ms`` before and ``release_ms`` after.

    Distances to the nearest speech frame ahead and behind give the ramp position, so the curve is computed
    without a sample loop; a raised-cosine shape removes the corners a linear ramp would click on.
    """
    if not active.any():
        return np.ones(n, np.float32)
    idx = np.arange(len(active))
    big = len(active) * 4 + 10
    last = np.maximum.accumulate(np.where(active, idx, -big))
    nxt = np.minimum.accumulate(np.where(active, idx, 2 * big)[::-1])[::-1]
    attack = max(attack_ms / FRAME_MS, 1.0)
    release = max(release_ms / FRAME_MS, 1.0)
    amount = np.clip(np.maximum(1 - (nxt - idx) / attack, 1 - (idx - last) / release), 0.0, 1.0)
    amount = 0.5 - 0.5 * np.cos(np.pi * amount)
    hop = rate * FRAME_MS / 1000
    centers = (idx + 0.5) * hop
    gain_db = np.interp(np.arange(n) + 0.5, centers, -duck_db * amount)
    return (10 ** (gain_db / 20)).astype(np.float32)


def _phrases(active: np.ndarray) -> list[tuple[int, int]]:
    padded = np.concatenate([[False], active, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2], strict=True))


def speech_to_music_db(dialogue: np.ndarray, music: np.ndarray, active: np.ndarray, rate: int = 48_000) -> float:
    """The quietest phrase's ratio of dialogue power to music power, in dB, over the frames marked ``active``.

    Phrases shorter than 200 ms are skipped (a breath or a click says nothing about intelligibility).
    """
    hop = int(rate * FRAME_MS / 1000)
    d = _frame_rms(np.asarray(dialogue, np.float64).reshape(len(dialogue), -1).mean(axis=1), hop) ** 2
    m = _frame_rms(np.asarray(music, np.float64).reshape(len(music), -1).mean(axis=1), hop) ** 2
    ratios = [
        _db(d[a:b].mean()) - _db(m[a:b].mean())
        for a, b in _phrases(active)
        if (b - a) * FRAME_MS >= 200 and m[a:b].mean() > 0 and d[a:b].mean() > 0
    ]
    return float(min(ratios)) if ratios else float("inf")


def _limiter_gain(peaks: np.ndarray, ceiling: float, rate: int) -> np.ndarray:
    """Gain (n,) ≤ 1 that keeps per-sample true peaks ``peaks`` (see :func:`true_peak`) under ``ceiling`` (linear).

    Required gain per sample → minimum over ±20 ms (look-ahead and hold) → two ±10 ms moving averages. Every
    averaged value only mixes minima that already include the sample itself, so the curve never exceeds the
    required gain; the averaging makes the 40 ms ramps smooth enough not to distort.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(len(peaks))
    half = max(1, int(0.010 * rate))
    gain = minimum_filter1d(need, size=4 * half + 1, mode="nearest")
    for _ in range(2):
        gain = uniform_filter1d(gain, size=2 * half + 1, mode="nearest")
    return np.minimum(gain, 1.0)


def _level(x: np.ndarray, mask: np.ndarray | None) -> float:
    """Mean power (dB) of ``x`` over the samples in ``mask`` (or, without one, over its non-silent 5 ms frames)."""
    mono = x.mean(axis=1).astype(np.float64)
    if mask is not None:
        return _db(float(np.mean(mono[mask] ** 2))) if mask.any() else float("-inf")
    rms = _frame_rms(mono, 240)
    live = rms[rms > 10 ** (-60 / 20)]
    return _db(float(np.mean(live**2))) if len(live) else float("-inf")


def mix_episode(
    dialogue: np.ndarray,
    effects: np.ndarray,
    music: np.ndarray,
    *,
    sample_rate: int = 48_000,
    target_lufs: float = -14.0,
    true_peak_db: float = -1.0,
    duck_db: float = 10.0,
    attack_ms: float = 150.0,
    release_ms: float = 500.0,
    hold_ms: float = 400.0,
    music_db: float = -8.0,
    effects_db: float = -4.0,
    min_speech_to_music_db: float = 12.0,
) -> Mix:
    """Mix the three stems (same length; dialogue (n,) or (n, 2)) into a delivered stereo mix with stems.

    ``music_db``/``effects_db`` set the music bed and effects relative to the dialogue's speaking level;
    ``duck_db`` (6–12) is how far the bed drops under speech.
    """
    if not 6.0 <= duck_db <= 12.0:
        raise MixError(f"duck_db={duck_db} is outside 6–12 dB", field="duck_db", hint="music under dialogue is ducked 6–12 dB")
    if attack_ms < 0 or release_ms < 0 or hold_ms < 0:
        raise MixError("attack_ms, release_ms and hold_ms must be ≥ 0", field="attack_ms/release_ms/hold_ms")
    if true_peak_db > 0:
        raise MixError(f"true_peak_db={true_peak_db} is above full scale", field="true_peak_db", hint="use −1.0 dBTP")
    d = _stereo(dialogue, "dialogue", None)
    n = len(d)
    fx = _stereo(effects, "effects", n)
    m = _stereo(music, "music", n)
    if n < int(0.4 * sample_rate):
        raise MixError(f"the programme is {n} samples long; loudness needs at least 400 ms", field="dialogue")

    active = speech_frames(d, sample_rate, hold_ms=hold_ms)
    hop = int(sample_rate * FRAME_MS / 1000)
    speech = np.repeat(active, hop)[:n]
    speech = np.pad(speech, (0, n - len(speech)))
    speech_level = _level(d, speech)
    if np.isfinite(speech_level):
        music_level = _level(m, ~speech if (~speech).any() else None)
        if np.isfinite(music_level):
            m = m * np.float32(10 ** ((speech_level + music_db - music_level) / 20))
        fx_level = _level(fx, None)
        if np.isfinite(fx_level):
            fx = fx * np.float32(10 ** ((speech_level + effects_db - fx_level) / 20))
    duck = duck_curve(active, n, sample_rate, duck_db=duck_db, attack_ms=attack_ms, release_ms=release_ms)
    m = m * duck[:, None]
    ratio = speech_to_music_db(d, m, active, sample_rate)
    if ratio < min_speech_to_music_db + 0.5:  # loud passages of the score: lower the whole bed, keep the shape
        m = m * np.float32(10 ** ((ratio - min_speech_to_music_db - 0.5) / 20))
        ratio = speech_to_music_db(d, m, active, sample_rate)

    bus = (d.astype(np.float64) + m + fx)
    lufs = loudness(bus, sample_rate)
    if not np.isfinite(lufs):
        raise MixError("all three stems are silent", field="dialogue/effects/music", hint="check the rendered stems")
    ceiling = 10 ** ((true_peak_db - 0.05) / 20)
    peaks = true_peak(bus)  # a gain curve this smooth scales the true peak with it: detect once
    gain = 10 ** ((target_lufs - lufs) / 20)
    curve = np.ones(n)
    for _ in range(8):
        curve = gain * _limiter_gain(peaks * gain, ceiling, sample_rate)
        lufs = loudness(bus * curve[:, None], sample_rate)
        if abs(lufs - target_lufs) <= 0.1:
            break
        gain *= 10 ** ((target_lufs - lufs) / 20)
    _, tp = measure(bus * curve[:, None], sample_rate)
    if tp > true_peak_db - 0.02:  # an inter-sample peak slipped past the smoothed curve: trim statically
        curve *= 10 ** ((true_peak_db - 0.05 - tp) / 20)
    c = curve[:, None]
    stems = {
        "dialogue": (d * c).astype(np.float32),
        "music": (m * c).astype(np.float32),
        "effects": (fx * c).astype(np.float32),
    }
    stems["me"] = (stems["music"] + stems["effects"]).astype(np.float32)
    out = (stems["dialogue"] + stems["me"]).astype(np.float32)
    lufs, tp = measure(out, sample_rate)
    return Mix(
        mix=out, stems=stems, integrated_lufs=lufs, true_peak_dbtp=tp, duck_gain=duck,
        speech=speech.astype(bool), speech_to_music_db=ratio,
    )  # fmt: skip
