"""Fit a planned shot to the speech actually synthesised for it, in exact integer samples and frames.

The plan estimates durations from text; the TTS says how long each line really is. A shot keeps its planned
length when the speech fits, and grows (never shrinks) when it does not, so a producer's edited duration in
plan.json is a minimum.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from schemas.plan import Shot
from tasks.media.timebase import SAMPLE_RATE, seconds_to_samples
from tasks.planning.plan import LINE_TAIL

GAP_SECONDS = Fraction(1, 4)  # between two lines in the same shot


@dataclass(frozen=True, slots=True)
class TimedShot:
    shot: Shot
    frames: int
    samples: int  # frames * samples-per-frame: the shot's exact audio length
    line_starts: tuple[int, ...]  # sample offset of each dialogue line from the shot start
    extended: bool  # True when speech made the shot longer than planned


def fit_shot(shot: Shot, speech_samples: Sequence[int], *, fps: int = 30, rate: int = SAMPLE_RATE) -> TimedShot:
    """Place ``shot.dialogue`` lines (whose audio lengths are ``speech_samples``) and fix the frame count."""
    if len(speech_samples) != len(shot.dialogue):
        raise ValueError(f"shot {shot.id}: {len(shot.dialogue)} lines but {len(speech_samples)} speech lengths")
    per_frame = Fraction(rate, fps)
    if per_frame.denominator != 1:
        raise ValueError(f"sample rate {rate} is not a whole number of samples per frame at {fps} fps")
    spf = int(per_frame)
    planned_frames = shot.frames(Fraction(fps))
    starts: list[int] = []
    end = 0
    simultaneous = len(shot.dialogue) == 2 and shot.dialogue[0].start == shot.dialogue[1].start and shot.shot_type == "WS"
    cursor = seconds_to_samples(shot.dialogue[0].start, rate) if shot.dialogue else 0
    for line, n in zip(shot.dialogue, speech_samples, strict=True):
        start = seconds_to_samples(line.start, rate) if simultaneous else max(cursor, seconds_to_samples(line.start, rate))
        starts.append(start)
        end = max(end, start + n)
        cursor = start + n + seconds_to_samples(GAP_SECONDS, rate)
    needed = end + seconds_to_samples(LINE_TAIL, rate) if shot.dialogue else 0
    needed_frames = -(-needed // spf)  # ceil
    frames = max(planned_frames, needed_frames, 1)
    return TimedShot(
        shot=shot, frames=frames, samples=frames * spf, line_starts=tuple(starts), extended=frames > planned_frames
    )
