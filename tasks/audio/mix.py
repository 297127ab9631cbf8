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
   Before that, the dialogue's peaks are held to ``dialogue_crest_db`` over its speaking level (a smooth
   look-ahead peak limiter on the dialogue alone): raw TTS can peak 20 dB over its level, and leaving those peaks
   to the bus limiter would pull the music down with every loud syllable.
3. **Loudness.** One gain brings the sum to ``target_lufs`` (ITU-R BS.1770 / EBU R128 integrated loudness via
   pyloudnorm); a look-ahead true-peak limiter (4× oversampled peak detection) keeps it under ``true_peak_db``;
   limiting lowers loudness, so gain and limiter are re-run until both hold.
The bus gain and the limiter's gain curve are applied to every stem alike, so ``dialogue + music + effects`` is
the mix (to float32 rounding) and ``me`` (music + effects, the international track) lines up with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

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
        raise MixError(
            f"expected (n,) or (n, 2) samples, got shape {np.shape(x)}",
            field=name,
            hint="pass mono or stereo audio",
        )
    if n is not None and len(a) != n:
        raise MixError(
            f"has {len(a)} samples but the dialogue has {n}", field=name,
            hint="place every stem on the same episode timeline (same length) before mixing",
        )  # fmt: skip
    if not np.all(np.isfinite(a)):
        raise MixError("contains NaN or infinity", field=name, hint="check the step that rendered this stem")
    return a


def _rows(x: np.ndarray, op) -> np.ndarray:
    """``op`` folded across the channels of (n, ch): numpy's reduce over a 2-wide axis is ~10× slower than this."""
    out = x[:, 0]
    for ch in range(1, x.shape[1]):
        out = op(out, x[:, ch])
    return out


def _db(power: float) -> float:
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


@lru_cache(maxsize=1)
def _interpolator() -> np.ndarray:
    """48-tap Kaiser-windowed sinc for 4× oversampling (12 taps per phase, the structure of BS.1770-4 Annex 2)."""
    from scipy.signal import firwin

    return OVERSAMPLE * firwin(48, 1.0 / OVERSAMPLE, window=("kaiser", 6.0))


def true_peak(samples: np.ndarray) -> np.ndarray:
    """Per-sample true peak (n,): the largest |value| of the 4× oversampled signal around each sample, all channels."""
    from scipy.signal import upfirdn

    x = np.asarray(samples, dtype=np.float32)  # float32 is ample for a peak reading and twice as fast
    x = x.reshape(len(x), -1)
    n = len(x)
    taps = _interpolator().astype(np.float32)
    delay = (len(taps) - 1) // 2  # the filter's group delay, in oversampled samples
    peak = _rows(np.abs(x), np.maximum).astype(np.float64)
    for ch in range(x.shape[1]):
        up = upfirdn(taps, x[:, ch], up=OVERSAMPLE)[
            delay : delay + OVERSAMPLE * n
        ]  # full: upfirdn adds the tail
        np.abs(up, out=up)
        up = up.reshape(n, OVERSAMPLE)
        peak = np.maximum(peak, np.maximum(np.maximum(up[:, 0], up[:, 1]), np.maximum(up[:, 2], up[:, 3])))
    return peak


# BS.1770-4 K-weighting at 48 kHz: a high shelf (head acoustics) then the RLB high-pass.
_SHELF = ([1.53512485958697, -2.69169618940638, 1.19839281085285], [1.0, -1.69065929318241, 0.73248077421585])
_RLB = ([1.0, -2.0, 1.0], [1.0, -1.99004745483398, 0.99007225036621])


def k_weighted(x: np.ndarray) -> np.ndarray:
    """K-weighted (n, ch) signal at 48 kHz (the sidechain of every loudness measurement)."""
    from scipy.signal import lfilter

    z = lfilter(*_SHELF, np.asarray(x, np.float64).reshape(len(x), -1), axis=0)
    return lfilter(*_RLB, z, axis=0)


def gated_loudness(z: np.ndarray, rate: int = 48_000) -> float:
    """Integrated loudness of an already K-weighted (n, ch) signal: 400 ms blocks every 100 ms, −70 LUFS absolute
    and −10 LU relative gates (BS.1770-4). Vectorised with cumulative sums, so re-measuring inside the mix loop
    costs milliseconds; :func:`loudness` (pyloudnorm) stays the reference it is tested against."""
    block, step = int(0.4 * rate), int(0.1 * rate)
    power = _rows(z**2, np.add)  # channel weights are 1 for L and R
    if len(power) < block:
        power = np.concatenate([power, np.zeros(block - len(power))])
    cs = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, len(power) - block + 1, step)
    blocks = (cs[starts + block] - cs[starts]) / block
    with np.errstate(divide="ignore"):
        lk = -0.691 + 10 * np.log10(blocks)
    kept = blocks[lk > -70.0]
    if len(kept) == 0:
        return float("-inf")
    relative = -0.691 + 10 * np.log10(kept.mean()) - 10.0
    kept = blocks[(lk > -70.0) & (lk > relative)]
    return float(-0.691 + 10 * np.log10(kept.mean()))


def loudness(samples: np.ndarray, rate: int = 48_000) -> float:
    """Integrated loudness (LUFS, BS.1770-4 gated, measured by pyloudnorm) of (n,) or (n, ch); silence gives -inf."""
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


def _frame_rms(x: np.ndarray, hop: int) -> np.ndarray:
    """RMS per ``hop`` samples of (n,) or (n, ch) audio, power averaged over channels (not a downmix: a mono
    sum would cancel wide, decorrelated music and under-read it)."""
    power = np.asarray(x, np.float64) ** 2
    power = _rows(power, np.add) / power.shape[1] if power.ndim == 2 else power
    frames = len(power) // hop + (1 if len(power) % hop else 0)
    padded = np.zeros(frames * hop, np.float64)
    padded[: len(power)] = power
    return np.sqrt(padded.reshape(frames, hop).mean(axis=1))


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
    mono = _rows(mono, np.add) / mono.shape[1] if mono.ndim == 2 else mono
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


def speech_to_music_db(
    dialogue: np.ndarray, music: np.ndarray, active: np.ndarray, rate: int = 48_000
) -> float:
    """The quietest phrase's ratio of dialogue power to music power, in dB, over the frames marked ``active``.

    Phrases shorter than 200 ms are skipped (a breath or a click says nothing about intelligibility).
    """
    hop = int(rate * FRAME_MS / 1000)
    d = _frame_rms(dialogue, hop) ** 2
    m = _frame_rms(music, hop) ** 2
    ratios = [
        _db(d[a:b].mean()) - _db(m[a:b].mean())
        for a, b in _phrases(active)
        if (b - a) * FRAME_MS >= 200 and m[a:b].mean() > 0 and d[a:b].mean() > 0
    ]
    return float(min(ratios)) if ratios else float("inf")


def _limiter_gain(peaks: np.ndarray, ceiling: float, rate: int, smooth_ms: float = 10.0) -> np.ndarray:
    """Gain (n,) ≤ 1 that keeps per-sample peaks ``peaks`` (see :func:`true_peak`) under ``ceiling`` (linear).

    Required gain per sample → minimum over ±2·``smooth_ms`` (look-ahead and hold) → two ±``smooth_ms`` moving
    averages. Every averaged value only mixes minima that already include the sample itself, so the curve never
    exceeds the required gain; the averaging makes the ramps smooth. 10 ms (the bus) is slower than a pitch period,
    so it does not distort; 0.75 ms (dialogue peak control) shaves single glottal pulses.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(len(peaks))
    half = max(1, int(smooth_ms / 1000 * rate))
    gain = minimum_filter1d(need, size=4 * half + 1, mode="nearest")
    for _ in range(2):
        gain = uniform_filter1d(gain, size=2 * half + 1, mode="nearest")
    return np.minimum(gain, 1.0)


def _level(x: np.ndarray, mask: np.ndarray | None) -> float:
    """Mean power (dB) of ``x`` over the samples in ``mask`` (or, without one, over its non-silent 5 ms frames)."""
    if mask is not None:
        return _db(float(np.mean(x[mask].astype(np.float64) ** 2))) if mask.any() else float("-inf")
    rms = _frame_rms(x, 240)
    live = rms[rms > 10 ** (-60 / 20)]
    return _db(float(np.mean(live**2))) if len(live) else float("-inf")


def compress_dialogue(
    d: np.ndarray, speech: np.ndarray, rate: int = 48_000, *, ratio: float = 3.0, knee_db: float = 0.0
) -> np.ndarray:
    """A dialogue compressor: syllables louder than the speaking level (+``knee_db``) are pulled toward it at
    ``ratio``:1, so loud words stop poking out and the programme reaches −14 LUFS without heavy peak limiting.

    Sidechain: 5 ms RMS frames; the gain takes the lowest value within ±10 ms (look-ahead: the attack completes
    before the syllable) and is averaged over ±10 ms then ±25 ms (a ~50 ms release that does not flutter).
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    level = _level(d, speech)
    if not np.isfinite(level):
        return d
    hop = int(rate * FRAME_MS / 1000)
    env_db = 20 * np.log10(np.maximum(_frame_rms(d, hop), 1e-9))
    over = np.maximum(env_db - (level + knee_db), 0.0)
    gain_db = -(1.0 - 1.0 / ratio) * over
    gain_db = minimum_filter1d(gain_db, size=5, mode="nearest")
    gain_db = uniform_filter1d(uniform_filter1d(gain_db, size=5, mode="nearest"), size=11, mode="nearest")
    centers = (np.arange(len(gain_db)) + 0.5) * hop
    curve = 10 ** (np.interp(np.arange(len(d)) + 0.5, centers, gain_db) / 20)
    return (d * curve[:, None]).astype(np.float32)


def _chunked(x: np.ndarray, chunk: int, op) -> np.ndarray:
    """``op`` (np.max or np.sum) over consecutive ``chunk``-sample pieces of (n,), zero-padded at the end."""
    pieces = -(-len(x) // chunk)
    padded = np.zeros(pieces * chunk, x.dtype)
    padded[: len(x)] = x
    return op(padded.reshape(pieces, chunk), axis=1)


def _bus_curve(
    weighted: np.ndarray, peaks: np.ndarray, target: float, ceiling: float, gain: float, rate: int
) -> np.ndarray:
    """Gain × limiter curve (n,) that brings the bus to ``target`` LUFS with true peaks under ``ceiling``.

    Limiting lowers loudness, so gain and limiter alternate until the loudness holds. Both run on 1 ms chunks
    (chunk peak maxima; chunk sums of K-weighted power): the curve is far slower than 1 ms, so loudness of the
    curved bus is Σ curve² · power per chunk, and a chunk-level limiter whose windows span whole chunks never
    exceeds any sample's required gain. The result is interpolated back to samples.
    """
    chunk = max(1, rate // 1000)
    peak_c = _chunked(peaks, chunk, np.max)
    power_c = _chunked(_rows(weighted**2, np.add), chunk, np.sum)
    block, step = 400, 100  # chunks: the BS.1770 400 ms / 100 ms gating blocks
    curve_c = np.full(len(peak_c), gain)
    for _ in range(12):
        curve_c = gain * _limiter_gain(peak_c * gain, ceiling, 1000)
        cs = np.concatenate([[0.0], np.cumsum(power_c * curve_c**2)])
        starts = np.arange(0, max(len(power_c) - block, 0) + 1, step)
        blocks = (cs[np.minimum(starts + block, len(power_c))] - cs[starts]) / (block * chunk)
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10 * np.log10(blocks)
        kept = blocks[lk > -70.0]
        if len(kept) == 0:
            break
        relative = -0.691 + 10 * np.log10(kept.mean()) - 10.0
        lufs = -0.691 + 10 * np.log10(blocks[(lk > -70.0) & (lk > relative)].mean())
        if abs(lufs - target) <= 0.02:
            break
        gain *= 10 ** ((target - lufs) / 20)
    centers = (np.arange(len(curve_c)) + 0.5) * chunk
    return np.interp(np.arange(len(peaks)) + 0.5, centers, curve_c)


@dataclass(frozen=True, eq=False)
class _Balanced:
    dialogue: np.ndarray
    music: np.ndarray  # ducked
    effects: np.ndarray
    speech_to_music_db: float


def _balance(
    d: np.ndarray,
    m: np.ndarray,
    fx: np.ndarray,
    speech: np.ndarray,
    active: np.ndarray,
    duck: np.ndarray,
    dialogue_peak_db: float,
    music_db: float,
    effects_db: float,
    min_ratio_db: float,
    rate: int,
) -> _Balanced:
    """Dialogue peaks held at ``dialogue_peak_db`` (fast look-ahead limiter: single glottal pulses, not whole
    syllables); music and effects set relative to the dialogue's speaking level; music ducked; the bed lowered
    further if any phrase would sit less than ``min_ratio_db`` over it."""
    level = _level(d, speech)
    if np.isfinite(level):
        gain = _limiter_gain(
            _rows(np.abs(d), np.maximum), 10 ** (dialogue_peak_db / 20), rate, smooth_ms=0.75
        )
        d = (d * gain[:, None]).astype(np.float32)
        level = _level(d, speech)
        music_level = _level(m, ~speech if (~speech).any() else None)
        if np.isfinite(music_level):
            m = m * np.float32(10 ** ((level + music_db - music_level) / 20))
        fx_level = _level(fx, None)
        if np.isfinite(fx_level):
            fx = fx * np.float32(10 ** ((level + effects_db - fx_level) / 20))
    m = m * duck[:, None]
    ratio = speech_to_music_db(d, m, active, rate)
    if ratio < min_ratio_db + 0.5:  # loud passages of the score: lower the whole bed, keep its shape
        m = m * np.float32(10 ** ((ratio - min_ratio_db - 0.5) / 20))
        ratio = speech_to_music_db(d, m, active, rate)
    return _Balanced(d, m, fx, ratio)


def mix_episode(
    dialogue: np.ndarray,
    effects: np.ndarray,
    music: np.ndarray,
    *,
    sample_rate: int = 48_000,
    target_lufs: float = -14.0,
    true_peak_db: float = -1.0,
    duck_db: float = 9.0,
    attack_ms: float = 150.0,
    release_ms: float = 500.0,
    hold_ms: float = 400.0,
    music_db: float = -8.0,
    effects_db: float = -4.0,
    min_speech_to_music_db: float = 12.0,
    dialogue_crest_db: float = 13.0,
    dialogue_ratio: float = 3.0,
) -> Mix:
    """Mix the three stems (same length; dialogue (n,) or (n, 2)) into a delivered stereo mix with stems.

    ``music_db``/``effects_db`` set the music bed and effects relative to the dialogue's speaking level;
    ``duck_db`` (6–12) is how far the bed drops under speech; 9 dB leaves room for the 1–3 dB the true-peak
    limiter typically takes off speech passages, so the music stem measures inside 6–12 dB either way.
    """
    if not 6.0 <= duck_db <= 12.0:
        raise MixError(
            f"duck_db={duck_db} is outside 6–12 dB",
            field="duck_db",
            hint="music under dialogue is ducked 6–12 dB",
        )
    if attack_ms < 0 or release_ms < 0 or hold_ms < 0:
        raise MixError("attack_ms, release_ms and hold_ms must be ≥ 0", field="attack_ms/release_ms/hold_ms")
    if true_peak_db > 0:
        raise MixError(
            f"true_peak_db={true_peak_db} is above full scale", field="true_peak_db", hint="use −1.0 dBTP"
        )
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
    duck = duck_curve(active, n, sample_rate, duck_db=duck_db, attack_ms=attack_ms, release_ms=release_ms)
    d = compress_dialogue(d, speech, sample_rate, ratio=dialogue_ratio)
    raw_level = _level(d, speech)
    allowed_plr = (
        true_peak_db - target_lufs + 1.0
    )  # the bus limiter may take ~1 dB; the rest is dialogue's job
    crest = dialogue_crest_db
    for _ in range(4):
        bal = _balance(
            d,
            m,
            fx,
            speech,
            active,
            duck,
            raw_level + crest,
            music_db,
            effects_db,
            min_speech_to_music_db,
            sample_rate,
        )
        bus = bal.dialogue.astype(np.float64) + bal.music + bal.effects
        weighted = k_weighted(bus)
        lufs = gated_loudness(weighted, sample_rate)
        if not np.isfinite(lufs) or not np.isfinite(raw_level) or crest <= 6.0:
            break
        excess = 20 * np.log10(max(float(np.abs(bal.dialogue).max()), 1e-12)) - lufs - allowed_plr
        if excess <= 0.25:
            break
        crest = max(
            6.0, crest - excess
        )  # speech peaks too far over the programme loudness: shave them further
    d, m, fx, ratio = bal.dialogue, bal.music, bal.effects, bal.speech_to_music_db

    if not np.isfinite(lufs):
        raise MixError(
            "all three stems are silent", field="dialogue/effects/music", hint="check the rendered stems"
        )
    ceiling = 10 ** ((true_peak_db - 0.05) / 20)
    bus = d.astype(np.float64) + m + fx
    offset = loudness(bus, sample_rate) - lufs  # pyloudnorm against our fast meter, on this very programme
    for _ in range(3):
        peaks = true_peak(bus)  # a gain curve this smooth scales the true peak with it: detect once per bus
        curve = _bus_curve(
            weighted, peaks, target_lufs - offset, ceiling, 10 ** ((target_lufs - lufs) / 20), sample_rate
        )
        ratio = speech_to_music_db(d * curve[:, None], m * curve[:, None], active, sample_rate)
        if ratio >= min_speech_to_music_db:
            break
        # heavy limiting presses loud syllables harder than the bed under them: lower the bed, mix again
        m = m * np.float32(10 ** ((ratio - min_speech_to_music_db - 0.5) / 20))
        bus = d.astype(np.float64) + m + fx
        weighted = k_weighted(bus)
    c = curve[:, None]
    stems = {"dialogue": (d * c).astype(np.float32), "music": (m * c).astype(np.float32)}
    stems["effects"] = (fx * c).astype(np.float32)
    stems["me"] = (stems["music"] + stems["effects"]).astype(np.float32)
    out = (stems["dialogue"] + stems["me"]).astype(np.float32)
    lufs_out, tp = measure(out, sample_rate)
    if (
        tp > true_peak_db - 0.01
    ):  # an inter-sample peak slipped past the smoothed curve: trim everything alike
        trim = np.float32(10 ** ((true_peak_db - 0.05 - tp) / 20))
        stems = {k: v * trim for k, v in stems.items()}
        out = out * trim
        lufs_out, tp = lufs_out + 20 * np.log10(trim), tp + 20 * np.log10(trim)
    return Mix(
        mix=out, stems=stems, integrated_lufs=lufs_out, true_peak_dbtp=tp, duck_gain=duck,
        speech=speech.astype(bool), speech_to_music_db=ratio,
    )  # fmt: skip
