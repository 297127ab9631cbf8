"""Rooms: which acoustic space a scene heading implies, and a synthetic impulse response for it.

A dry procedural effect sounds pasted on; the same knock in a kitchen, a hotel lobby or a stairwell should not
sound alike. Impulse responses are synthesised (no IR files to ship or license): sparse early reflections, then
exponentially decaying noise whose highs die faster than its lows (air and soft surfaces absorb highs), with
independent noise per channel for width. Applied by FFT convolution; each room's IR spectrum is kept per FFT
size (sizes rounded up to 8192 samples, so effects of similar length share one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from schemas.errors import ReelwrightError

RATE = 48_000


class RoomError(ReelwrightError):
    """An unknown room name."""


@dataclass(frozen=True, slots=True)
class Room:
    """``rt60`` seconds for the low band (highs decay in ``rt60 * high_ratio``); ``wet`` is the send level."""

    rt60: float
    predelay_ms: float
    reflections: int  # early reflections in the first ``early_ms``
    early_ms: float
    cutoff_hz: float  # tail brightness
    high_ratio: float
    wet: float
    flutter_ms: float = 0.0  # parallel hard walls: a periodic echo train (stairwells)
    slap_ms: float = 0.0  # one distinct echo off a far wall (streets)


ROOMS: dict[str, Room] = {
    "small_room": Room(
        rt60=0.4, predelay_ms=2, reflections=14, early_ms=25, cutoff_hz=6000, high_ratio=0.6, wet=0.3
    ),
    "hall": Room(
        rt60=2.0, predelay_ms=22, reflections=18, early_ms=90, cutoff_hz=5000, high_ratio=0.55, wet=0.45
    ),
    "stairwell": Room(
        rt60=2.6,
        predelay_ms=6,
        reflections=10,
        early_ms=40,
        cutoff_hz=9000,
        high_ratio=0.75,
        wet=0.5,
        flutter_ms=14,
    ),
    "outdoor": Room(
        rt60=0.25,
        predelay_ms=8,
        reflections=3,
        early_ms=40,
        cutoff_hz=4000,
        high_ratio=0.5,
        wet=0.15,
        slap_ms=140,
    ),
    "car_interior": Room(
        rt60=0.1, predelay_ms=1, reflections=12, early_ms=8, cutoff_hz=3500, high_ratio=0.5, wet=0.35
    ),
}

_CAR = re.compile(r"\b(CAR|TAXI|CAB|LIMO|LIMOUSINE|VAN|SUV|TRUCK)\b|车内|车里|车上|出租车|轿车")
_STAIRS = re.compile(r"STAIR|楼梯|楼道|阶梯")
_HALL = re.compile(
    r"LOBBY|\bHALL\b|BALLROOM|AUDITORIUM|CHURCH|CATHEDRAL|WAREHOUSE|\bGYM\b|ATRIUM|THEATER|THEATRE|"
    r"大厅|礼堂|大堂|宴会厅|教堂|仓库|剧院|体育馆"
)
_EXTERIOR = re.compile(r"^\s*(EXT|E/I)\b|(^|\s)外(\s|$)|室外|户外|街头|街道|天台|楼顶")


def room_for(heading: str, interior: str | None, location: str) -> str:
    """The room a scene takes place in, from its heading, INT/EXT and location (English or Chinese).

    Cars and stairwells win over INT/EXT (a car parked outside is still a car interior); big indoor spaces are
    halls; exteriors are outdoor; every other interior is a small room.
    """
    text = f"{heading} {location}".upper()
    if _CAR.search(text):
        return "car_interior"
    if _STAIRS.search(text):
        return "stairwell"
    if (interior or "").upper().startswith("EXT") or (interior is None and _EXTERIOR.search(text)):
        return "outdoor"
    if _HALL.search(text):
        return "hall"
    if _EXTERIOR.search(text) and not (interior or "").upper().startswith("INT"):
        return "outdoor"
    return "small_room"


def _room(name: str) -> Room:
    try:
        return ROOMS[name]
    except KeyError:
        raise RoomError(
            f"unknown room {name!r}", field="room", hint=f"use one of {', '.join(ROOMS)}"
        ) from None


@lru_cache(maxsize=32)
def _impulse_response(name: str, seed: int) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    room = _room(name)
    rng = np.random.default_rng([seed, 0x5EED, len(name)])
    n = int(RATE * (room.rt60 * 1.1 + room.predelay_ms / 1000 + 0.02))
    t = np.arange(n) / RATE
    noise = rng.standard_normal((n, 2))
    low = sosfilt(butter(2, room.cutoff_hz, "low", fs=RATE, output="sos"), noise, axis=0)
    high = noise - low
    decay_low = np.exp(-6.91 * t / room.rt60)[:, None]  # 60 dB down at rt60
    decay_high = np.exp(-6.91 * t / (room.rt60 * room.high_ratio))[:, None]
    onset = np.clip(t / 0.004, 0, 1)[:, None]  # the diffuse tail builds up over a few ms
    ir = (low * decay_low + 0.5 * high * decay_high) * onset
    for _ in range(room.reflections):
        at = int(RATE * rng.uniform(0.0008, room.early_ms / 1000))
        side = rng.integers(0, 2)
        ir[at, side] += rng.uniform(0.6, 1.6) * np.exp(-6.91 * at / RATE / room.rt60) * 6
    if room.flutter_ms:
        period = int(RATE * room.flutter_ms / 1000)
        taps = np.arange(period, n, period)
        ir[taps] += (4.0 * np.exp(-6.91 * taps / RATE / (room.rt60 * 0.5)))[:, None] * rng.uniform(
            0.7, 1.0, (len(taps), 2)
        )
    if room.slap_ms:
        at = int(RATE * room.slap_ms / 1000)
        if at < n:
            ir[at : at + 24] += np.hanning(24)[:, None] * np.array([10.0, 7.0])
    pre = int(RATE * room.predelay_ms / 1000)
    ir = np.concatenate([np.zeros((pre, 2)), ir])
    return (ir / np.sqrt(np.sum(ir**2) / 2)).astype(np.float32)  # unit energy per channel


def impulse_response(room: str, seed: int = 0) -> np.ndarray:
    """(m, 2) float32 impulse response of ``room`` with unit energy per channel; deterministic per seed."""
    return _impulse_response(room, int(seed)).copy()


@lru_cache(maxsize=64)
def _spectrum(name: str, seed: int, nfft: int) -> np.ndarray:
    """The room's IR spectrum, (nfft // 2 + 1, 2) complex64 (read-only: cached)."""
    from scipy.fft import rfft

    spectrum = rfft(_impulse_response(name, seed), nfft, axis=0)
    spectrum.setflags(write=False)
    return spectrum


def apply_room(dry: np.ndarray, room: str, *, seed: int = 0, wet: float | None = None) -> np.ndarray:
    """``dry`` ((n,) or (n, 2)) in ``room``: dry + wet·(dry ⊛ IR), lengthened by the reverb tail."""
    from scipy.fft import irfft, next_fast_len, rfft

    ir = _impulse_response(room, int(seed))
    level = _room(room).wet if wet is None else wet
    x = np.asarray(dry, dtype=np.float32)
    x = np.repeat(x[:, None], 2, axis=1) if x.ndim == 1 else x
    size = len(x) + len(ir) - 1
    nfft = next_fast_len(-(-size // 8192) * 8192, real=True)
    wet_signal = irfft(rfft(x, nfft, axis=0) * _spectrum(room, int(seed), nfft), nfft, axis=0)[:size]
    out = np.zeros((size, 2), np.float32)
    out[: len(x)] = x
    out += level * wet_signal
    return out
