"""Delivery specs: what an episode must measure as, per target app (ARCHITECTURE: delivery defaults)."""

from __future__ import annotations

from fractions import Fraction

from pydantic import BaseModel, ConfigDict


class DeliverySpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "vertical-1080p"
    width: int = 1080
    height: int = 1920
    fps: int = 30
    loudness_lufs: float = -14.0
    loudness_tolerance: float = 1.0
    true_peak_dbtp: float = -1.0
    min_seconds: float = 60.0
    max_seconds: float = 180.0
    audio_bitrate: str = "256k"

    @property
    def frame_rate(self) -> Fraction:
        return Fraction(self.fps)
