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
   Room tone and weather beds (``ambience``, tasks.audio.ambience) go into the effects stem ``ambience_db`` under
   the speaking level — not balanced with the effects: a steady bed would pull their measured level down.
   Before that, the dialogue's peaks are held to ``dialogue_crest_db`` over its speaking level (a smooth
   look-ahead peak limiter on the dialogue alone): raw TTS can peak 20 dB over its level, and leaving those peaks
   to the bus limiter would pull the music down with every loud syllable.
3. **Loudness.** One gain brings the sum to ``target_lufs`` (ITU-R BS.1770 / EBU R128 integrated loudness, read
   as pyloudnorm reads it: tasks.audio.meter); a look-ahead true-peak limiter (4× oversampled peak detection) keeps
   it under ``true_peak_db``; limiting lowers loudness, so gain and limiter are re-run until both hold. The
   delivered mix is measured again, never predicted.
The bus gain and the limiter's gain curve are applied to every stem alike, so ``dialogue + music + effects`` is
the mix (to float32 rounding) and ``me`` (music + effects, the international track) lines up with it.

Every pass over the samples goes block by block (``meter.spans``), and whole-programme work happens on 5 ms frames
or 1 ms chunks: at 90 s a float64 stereo temporary is 69 MB, and making and faulting in dozens of those used to
cost more than the arithmetic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from schemas.errors import ReelwrightError
from tasks.audio.meter import Reading, block_size, loudness, measure, read, rows, spans, true_peak

__all__ = ["Mix", "MixError", "compress_dialogue", "duck_curve", "loudness", "measure", "mix_episode"]
__all__ += ["speech_frames", "speech_to_music_db", "true_peak"]

FRAME_MS = 5.0


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


def _db(power: float) -> float:
    return 10.0 * np.log10(power) if power > 0 else float("-inf")


def _frame_power(x: np.ndarray, hop: int, *, downmix: bool = False) -> np.ndarray:
    """Mean power per ``hop`` samples of (n,) or (n, ch) audio, averaged over channels (not a downmix: a mono
    sum would cancel wide, decorrelated music and under-read it) — or, with ``downmix``, of the channels' mean.
    The last frame is zero-padded."""
    a = np.asarray(x)
    a = a.reshape(len(a), -1)
    out = np.zeros(-(-len(a) // hop))
    width = 1 if downmix else a.shape[1]
    for s, e in spans(len(a), 256 * hop):  # whole frames per step
        piece = a[s:e]
        if downmix:
            piece = (rows(piece.astype(np.float64), np.add) / a.shape[1])[:, None]
        whole = (e - s) // hop
        frames = piece[: whole * hop].reshape(whole, hop * width)
        out[s // hop : s // hop + whole] = np.einsum("ij,ij->i", frames, frames, dtype=np.float64)
        if (e - s) % hop:  # the programme's last, partial frame
            rest = piece[whole * hop :].astype(np.float64).reshape(-1)
            out[-1] = rest @ rest
    return out / (hop * width)


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
    hop = int(rate * FRAME_MS / 1000)
    rms = np.sqrt(_frame_power(dialogue, hop, downmix=True))
    loud = np.percentile(rms, 99) if len(rms) else 0.0
    threshold = max(10 ** (-60 / 20), loud * 10 ** (-35 / 20))
    active = rms > threshold
    if not active.any():
        return active
    return _fill_short_gaps(active, int(round(hold_ms / FRAME_MS)))


def _block(rate: int) -> int:
    """Samples per pass step at ``rate``: whole 5 ms frames and 1 ms chunks, ~1.3 s."""
    return block_size(rate, int(rate * FRAME_MS / 1000), max(1, rate // 1000))


def _gains(values: np.ndarray, step: float, n: int, rate: int, *, decibels: bool = False):
    """Per pass step over the programme: (start, stop, gain (stop − start,)) — ``values`` given at the centres of
    ``step``-sample frames, linearly interpolated to samples (in dB, then made linear, with ``decibels``)."""
    centers = (np.arange(len(values)) + 0.5) * step
    for s, e in spans(n, _block(rate)):
        gain = np.interp(np.arange(s, e) + 0.5, centers, values)
        yield s, e, np.exp(gain * (np.log(10.0) / 20)) if decibels else gain


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
    gain = np.empty(n, np.float32)
    for s, e, g in _gains(-duck_db * amount, rate * FRAME_MS / 1000, n, rate, decibels=True):
        gain[s:e] = g
    return gain


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
    return _phrase_ratio(_frame_power(dialogue, hop), _frame_power(music, hop), active)


def _phrase_ratio(d: np.ndarray, m: np.ndarray, active: np.ndarray) -> float:
    """:func:`speech_to_music_db` from per-frame dialogue and music powers."""
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


def _level(power: np.ndarray, active: np.ndarray | None, n: int, hop: int) -> float:
    """Mean power (dB) of a signal of ``n`` samples, from its per-frame powers (:func:`_frame_power` with ``hop``),
    over the frames in ``active`` (or, without them, over its non-silent frames)."""
    if active is None:
        live = power[np.sqrt(power) > 10 ** (-60 / 20)]
        return _db(float(np.mean(live))) if len(live) else float("-inf")
    if not active.any():
        return float("-inf")
    lengths = np.full(len(power), hop)
    lengths[-1] = n - hop * (len(power) - 1)  # the last frame may be partial (its padding adds no power)
    return _db(float(np.sum(power[active]) * hop / np.sum(lengths[active])))


def _line_offsets(
    power: np.ndarray, active: np.ndarray, level: float, lines: Sequence[tuple[int, int]] | None, hop: int
) -> np.ndarray:
    """Per frame: how far (dB) the line spoken there sits from the programme's speaking ``level`` (0 outside lines
    and without ``lines``); where lines overlap (two people at once), the louder line's."""
    offset = np.zeros(len(power))
    covered = np.zeros(len(power), bool)
    for start, stop in lines or ():
        a, b = max(0, start // hop), min(len(power), -(-stop // hop))
        own = _level(power[a:b], active[a:b], (b - a) * hop, hop) - level if b > a else float("-inf")
        if np.isfinite(own):
            offset[a:b] = np.where(covered[a:b], np.maximum(offset[a:b], own), own)
            covered[a:b] = True
    return offset


def compress_dialogue(
    d: np.ndarray, active: np.ndarray, rate: int = 48_000, *, ratio: float = 3.0, knee_db: float = 0.0,
    out: np.ndarray | None = None, lines: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """A dialogue compressor: syllables louder than the speaking level (+``knee_db``) are pulled toward it at
    ``ratio``:1, so loud words stop poking out and the programme reaches −14 LUFS without heavy peak limiting.

    With ``lines`` ((start, stop) samples of each spoken line) the speaking level is each line's own, so a line
    performed louder or quieter (a shout, a whisper: the emotion's level) keeps that level and only its own
    syllables are evened out; without them it is the programme's. ``d`` is (n, ch); ``active`` marks the 5 ms
    speech frames (:func:`speech_frames`) levels are measured over; the result goes to ``out`` (may be ``d``
    itself) or a new float32 array. Sidechain: 5 ms RMS frames; the gain takes the lowest value within ±10 ms
    (look-ahead: the attack completes before the syllable) and is averaged over ±10 ms then ±25 ms (a ~50 ms
    release that does not flutter).
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    hop = int(rate * FRAME_MS / 1000)
    power = _frame_power(d, hop)
    level = _level(power, active, len(d), hop)
    if not np.isfinite(level):
        return d
    reference = level + _line_offsets(power, active, level, lines, hop)
    env_db = 20 * np.log10(np.maximum(np.sqrt(power), 1e-9))
    over = np.maximum(env_db - (reference + knee_db), 0.0)
    gain_db = -(1.0 - 1.0 / ratio) * over
    gain_db = minimum_filter1d(gain_db, size=5, mode="nearest")
    gain_db = uniform_filter1d(uniform_filter1d(gain_db, size=5, mode="nearest"), size=11, mode="nearest")
    out = np.empty(d.shape, np.float32) if out is None else out
    for s, e, gain in _gains(gain_db, hop, len(d), rate, decibels=True):
        out[s:e] = d[s:e] * gain[:, None]
    return out


def _limit_peaks(d: np.ndarray, ceiling: float, rate: int, offsets: np.ndarray | None = None) -> np.ndarray:
    """``d`` (n, ch) float32 with its sample peaks held under ``ceiling`` by the fast (0.75 ms) look-ahead limiter;
    ``offsets`` (per 5 ms frame, dB) raise or lower the ceiling line by line (a shouted line keeps its headroom).

    Block by block: each block's gain is computed over the block plus the limiter's reach either side (the
    minimum filter and two moving averages see ±4·0.75 ms), so the gain is the whole-programme one."""
    half = max(1, int(0.75 / 1000 * rate))
    reach = 4 * half + 1
    hop = int(rate * FRAME_MS / 1000)
    out = np.empty(d.shape, np.float32)
    for s, e in spans(len(d), _block(rate)):
        lo, hi = max(0, s - reach), min(len(d), e + reach)
        top = ceiling
        if offsets is not None:
            top = ceiling * 10 ** (np.repeat(offsets[lo // hop : -(-hi // hop)], hop)[lo % hop : lo % hop + hi - lo] / 20)
        gain = _limiter_gain(rows(np.abs(d[lo:hi]), np.maximum), top, rate, smooth_ms=0.75)
        out[s:e] = d[s:e] * gain[s - lo : e - lo, None]
    return out


@dataclass(frozen=True, eq=False)
class _Balanced:
    dialogue: np.ndarray
    music: np.ndarray  # ducked; owned by the mix (not the caller's array), so it may be lowered in place
    effects: np.ndarray
    speech_to_music_db: float


def _balance(
    d: np.ndarray,
    m: np.ndarray,
    fx: np.ndarray,
    active: np.ndarray,
    duck: np.ndarray,
    levels: tuple[float, float, float],
    dialogue_peak_db: float,
    music_db: float,
    effects_db: float,
    min_ratio_db: float,
    rate: int,
    ambience: np.ndarray | None = None,
    ambience_db: float = -33.0,
    offsets: np.ndarray | None = None,
) -> _Balanced:
    """Dialogue peaks held at ``dialogue_peak_db`` (fast look-ahead limiter: single glottal pulses, not whole
    syllables); music and effects set relative to the dialogue's speaking level; music ducked; the bed lowered
    further if any phrase would sit less than ``min_ratio_db`` over it.

    ``levels`` are the (dialogue speaking, music between lines, effects) levels in dB of the stems as given:
    measured once by the caller, since only the dialogue changes from one call to the next."""
    hop = int(rate * FRAME_MS / 1000)
    speaking, music_level, fx_level = levels
    music_gain = np.float32(1.0)
    if np.isfinite(speaking):
        d = _limit_peaks(d, 10 ** (dialogue_peak_db / 20), rate, offsets)
    dialogue_power = _frame_power(d, hop)
    if np.isfinite(speaking):
        level = _level(dialogue_power, active, len(d), hop)
        if np.isfinite(music_level):
            music_gain = np.float32(10 ** ((level + music_db - music_level) / 20))
        if np.isfinite(fx_level):
            fx = fx * np.float32(10 ** ((level + effects_db - fx_level) / 20))
    if ambience is not None:  # unit-RMS room tone under everything, set from the speaking level (or −50 dBFS)
        amb_gain = 10 ** (((level if np.isfinite(speaking) else -20.0) + ambience_db) / 20)
        fx = fx + ambience * np.float32(amb_gain)
    bed = np.empty(m.shape, np.float32)
    for s, e in spans(len(m), _block(rate)):
        bed[s:e] = (m[s:e] * music_gain) * duck[s:e, None]
    ratio = _phrase_ratio(dialogue_power, _frame_power(bed, hop), active)
    if ratio < min_ratio_db + 0.5:  # loud passages of the score: lower the whole bed, keep its shape
        bed *= np.float32(10 ** ((ratio - min_ratio_db - 0.5) / 20))
        ratio = _phrase_ratio(dialogue_power, _frame_power(bed, hop), active)
    return _Balanced(d, bed, fx, ratio)


def _bus_curve(reading: Reading, target: float, ceiling: float, gain: float) -> np.ndarray:
    """Gain × limiter curve per 1 ms chunk that brings the bus to ``target`` LUFS with true peaks under ``ceiling``.

    Limiting lowers loudness, so gain and limiter alternate until the loudness holds. Both run on the reading's
    1 ms chunks (chunk peak maxima; chunk sums of K-weighted power): the curve is far slower than 1 ms, so loudness
    of the curved bus is Σ curve² · power per chunk, and a chunk-level limiter whose windows span whole chunks never
    exceeds any sample's required gain. The caller interpolates the curve back to samples.
    """
    power_c, peak_c = reading.power, reading.peak
    block, step = 400, 100  # chunks: the BS.1770 400 ms / 100 ms gating blocks
    curve_c = np.full(len(peak_c), gain)
    for _ in range(12):
        curve_c = gain * _limiter_gain(peak_c * gain, ceiling, 1000)
        cs = np.concatenate([[0.0], np.cumsum(power_c * curve_c**2)])
        starts = np.arange(0, max(len(power_c) - block, 0) + 1, step)
        blocks = (cs[np.minimum(starts + block, len(power_c))] - cs[starts]) / (block * reading.chunk)
        with np.errstate(divide="ignore"):
            lk = -0.691 + 10 * np.log10(blocks)
        kept = blocks[lk > -70.0]
        if len(kept) == 0:
            break
        relative = -0.691 + 10 * np.log10(kept.mean()) - 10.0
        lufs = -0.691 + 10 * np.log10(blocks[(lk > -70.0) & (lk > relative)].mean())
        if abs(lufs - target) <= 0.005:
            break
        gain *= 10 ** ((target - lufs) / 20)
    return curve_c


def _curved_ratio(
    d: np.ndarray, m: np.ndarray, curve: np.ndarray, chunk: int, active: np.ndarray, rate: int
) -> float:
    """:func:`speech_to_music_db` of ``d`` and ``m`` under the bus curve (per ``chunk`` samples), without keeping
    the curved stems."""
    hop = int(rate * FRAME_MS / 1000)
    dialogue, music = np.zeros(len(active)), np.zeros(len(active))
    for s, e, gain in _gains(curve, chunk, len(d), rate):
        frames = slice(s // hop, s // hop + -(-(e - s) // hop))
        dialogue[frames] = _frame_power(d[s:e] * gain[:, None], hop)
        music[frames] = _frame_power(m[s:e] * gain[:, None], hop)
    return _phrase_ratio(dialogue, music, active)


def _deliver(
    parts: dict[str, np.ndarray], curve: np.ndarray, chunk: int, rate: int, given: tuple
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The stems under the bus curve (per ``chunk`` samples), their M&E and their sum, as float32. A stem array
    the mix made itself is scaled in place; an array the caller passed (``given``) is never written to."""
    n = len(parts["dialogue"])
    stems = {
        k: np.empty((n, 2), np.float32) if any(np.may_share_memory(x, g) for g in given) else x
        for k, x in parts.items()
    }
    me, out = np.empty((n, 2), np.float32), np.empty((n, 2), np.float32)
    for s, e, gain in _gains(curve, chunk, n, rate):
        for k, x in parts.items():
            stems[k][s:e] = x[s:e] * gain[:, None]
        me[s:e] = stems["music"][s:e] + stems["effects"][s:e]
        out[s:e] = stems["dialogue"][s:e] + me[s:e]
    return stems | {"me": me}, out


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
    ambience: np.ndarray | None = None,
    ambience_db: float = -33.0,
    lines: Sequence[tuple[int, int]] | None = None,
) -> Mix:
    """Mix the three stems (same length; dialogue (n,) or (n, 2)) into a delivered stereo mix with stems.

    ``music_db``/``effects_db`` set the music bed and effects relative to the dialogue's speaking level;
    ``lines`` ((start, stop) samples per spoken line) lets the dialogue compressor keep each line's own level, so
    a shouted or whispered line stays louder or quieter than the rest (:func:`compress_dialogue`);
    ``ambience`` (same length, unit-RMS room tone) joins the effects stem ``ambience_db`` under the speaking level;
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
    amb = None if ambience is None else _stereo(ambience, "ambience", n)
    if n < int(0.4 * sample_rate):
        raise MixError(f"the programme is {n} samples long; loudness needs at least 400 ms", field="dialogue")

    active = speech_frames(d, sample_rate, hold_ms=hold_ms)
    hop = int(sample_rate * FRAME_MS / 1000)
    speech = np.repeat(active, hop)[:n]
    speech = np.pad(speech, (0, n - len(speech)))
    duck = duck_curve(active, n, sample_rate, duck_db=duck_db, attack_ms=attack_ms, release_ms=release_ms)
    given = tuple(np.asarray(x) for x in (dialogue, effects, music))
    in_place = not any(np.may_share_memory(d, g) for g in given)  # d is the mix's own (mono input made stereo)
    d = compress_dialogue(d, active, sample_rate, ratio=dialogue_ratio, out=d if in_place else None, lines=lines)
    power = _frame_power(d, hop)
    raw_level = _level(power, active, n, hop)
    offsets = _line_offsets(power, active, raw_level, lines, hop) if lines and np.isfinite(raw_level) else None
    between = ~active if (~active).any() else None
    levels = (raw_level, _level(_frame_power(m, hop), between, n, hop), _level(_frame_power(fx, hop), None, n, hop))
    # Without line spans the bus limiter may take ~1 dB off speech peaks; the rest is the dialogue's job. With them,
    # the loudest peaks are the loud lines' (a shout keeps its level), and a bus limiter pressing those would take
    # the shout's level back, so the dialogue's own fast peak control does it all, 0.5 dB under the ceiling.
    allowed_plr = true_peak_db - target_lufs + (-0.5 if lines else 1.0)
    crest = dialogue_crest_db
    for _ in range(4):
        bal = _balance(
            d, m, fx, active, duck, levels, raw_level + crest, music_db, effects_db, min_speech_to_music_db,
            sample_rate, amb, ambience_db, offsets,
        )  # fmt: skip
        reading = read([bal.dialogue, bal.music, bal.effects], sample_rate)
        lufs = reading.lufs
        if not np.isfinite(lufs) or not np.isfinite(raw_level) or crest <= 6.0:
            break
        top = max(float(np.abs(bal.dialogue[s:e]).max()) for s, e in spans(n, _block(sample_rate)))
        excess = 20 * np.log10(max(top, 1e-12)) - lufs - allowed_plr
        if excess <= 0.25:
            break
        crest = max(6.0, crest - excess)  # speech peaks too far over the programme loudness: shave them further
    d, m, fx, ratio = bal.dialogue, bal.music, bal.effects, bal.speech_to_music_db

    if not np.isfinite(lufs):
        raise MixError(
            "all three stems are silent", field="dialogue/effects/music", hint="check the rendered stems"
        )
    ceiling = 10 ** ((true_peak_db - 0.05) / 20)
    for attempt in range(3):
        curve = _bus_curve(reading, target_lufs, ceiling, 10 ** ((target_lufs - lufs) / 20))
        ratio = _curved_ratio(d, m, curve, reading.chunk, active, sample_rate)
        if ratio >= min_speech_to_music_db:
            break
        # heavy limiting presses loud syllables harder than the bed under them: lower the bed, mix again
        m *= np.float32(10 ** ((ratio - min_speech_to_music_db - 0.5) / 20))  # the bed is the mix's own array
        if attempt < 2:  # (after the third pass the lowered bed goes out under the last curve)
            reading = read([d, m, fx], sample_rate)
    stems, out = _deliver({"dialogue": d, "music": m, "effects": fx}, curve, reading.chunk, sample_rate, given)
    delivered = read([out], sample_rate)  # the delivered mix, measured (as pyloudnorm measures it)
    lufs_out, tp = delivered.lufs, delivered.true_peak_dbtp
    if tp > true_peak_db - 0.01:  # an inter-sample peak slipped past the smoothed curve: trim everything alike
        trim = np.float32(10 ** ((true_peak_db - 0.05 - tp) / 20))
        for v in stems.values():
            v *= trim
        out *= trim
        lufs_out, tp = lufs_out + 20 * np.log10(trim), tp + 20 * np.log10(trim)
    return Mix(
        mix=out, stems=stems, integrated_lufs=lufs_out, true_peak_dbtp=tp, duck_gain=duck,
        speech=speech.astype(bool), speech_to_music_db=ratio,
    )  # fmt: skip
