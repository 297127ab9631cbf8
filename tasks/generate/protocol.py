"""The generation backend protocol."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from schemas.generate import ShotRequest


@dataclass(frozen=True, slots=True)
class GeneratedShot:
    """What a backend returns for one shot.

    ``frames`` yields exactly ``request.frames`` RGB frames of ``(height, width, 3) uint8`` at delivery size,
    lazily (the shot task composites subtitles and encodes them once). ``effects`` is the shot's generated
    non-dialogue audio (SFX, ambience) as ``(samples, 2) float32`` at 48 kHz, ``samples`` matching the frames —
    or longer, by a tail still ringing after the cut (the mix lets it run on to the scene's end).
    """

    frames: Iterable[np.ndarray]
    effects: np.ndarray
    info: dict


@runtime_checkable
class GenerationBackend(Protocol):
    name: str

    def version(self) -> str:
        """Changes whenever output for the same request would change (code or weights)."""
        ...

    def generate(self, request: ShotRequest) -> GeneratedShot: ...
