"""Exact time: frames and samples are integers over a Fraction time base; seconds are derived, never summed."""

from __future__ import annotations

from fractions import Fraction

FPS = Fraction(30, 1)
SAMPLE_RATE = 48_000


def seconds_to_frames(seconds: float | Fraction, fps: Fraction = FPS) -> int:
    """Nearest whole frame (half rounds up) for a time in seconds."""
    return int(Fraction(seconds).limit_denominator(1_000_000) * fps + Fraction(1, 2))


def frames_to_seconds(frames: int, fps: Fraction = FPS) -> Fraction:
    return Fraction(frames) / fps


def frames_to_samples(frames: int, fps: Fraction = FPS, rate: int = SAMPLE_RATE) -> int:
    """Samples covering ``frames`` video frames; exact when rate/fps is whole (48 kHz at 30 fps: 1600)."""
    return int(Fraction(frames) / fps * rate + Fraction(1, 2))


def samples_to_frames(samples: int, fps: Fraction = FPS, rate: int = SAMPLE_RATE) -> int:
    return int(Fraction(samples) * fps / rate + Fraction(1, 2))


def seconds_to_samples(seconds: float | Fraction, rate: int = SAMPLE_RATE) -> int:
    return int(Fraction(seconds).limit_denominator(1_000_000) * rate + Fraction(1, 2))


def timecode(seconds: float | Fraction, sep: str = ",") -> str:
    """``HH:MM:SS,mmm`` (SRT) or with ``sep='.'`` WebVTT."""
    ms = int(Fraction(seconds).limit_denominator(1_000_000) * 1000 + Fraction(1, 2))
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, ms = divmod(rem, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"
