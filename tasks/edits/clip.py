"""A clip as edits see it: a re-startable stream of RGB frames plus the timing facts audio must follow."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np


@dataclass(frozen=True, slots=True)
class Clip:
    """``frames()`` starts a fresh stream of ``count`` RGB uint8 frames of ``width``×``height`` at ``fps``.

    ``audio_start``/``audio_end`` are the source seconds the audio covers; ``tempo`` is its speed-up. Operations
    return new clips (nothing is decoded until the final write pulls frames).
    """

    frames: Callable[[], Iterator[np.ndarray]]
    width: int
    height: int
    fps: Fraction
    count: int
    audio_start: Fraction = Fraction(0)
    audio_end: Fraction | None = None
    tempo: Fraction = Fraction(1)

    def with_frames(self, frames: Callable[[], Iterator[np.ndarray]], **changes) -> Clip:  # noqa: ANN003
        return replace(self, frames=frames, **changes)

    def source_seconds(self, frame: int) -> Fraction:
        """Source time (seconds) of this clip's frame boundary ``frame``, through earlier trims and retimes."""
        return self.audio_start + Fraction(frame) / self.fps * self.tempo
