"""Small frozen records that tasks return: where an artifact is and what it is."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VoicedLine(Frozen):
    """A synthesised dialogue line in the asset store."""

    key: str
    audio: str  # mono 48 kHz float WAV
    samples: int
    words: tuple[tuple[str, float, float], ...]  # (text, start_s, end_s) relative to the line start
    voice: str
    cached: bool = False
    emotion_known: bool = True
    parenthetical: str | None = None


class ShotArtifact(Frozen):
    shot_id: str
    key: str
    video: str  # H.264 MP4, video only, delivery settings, subtitles burned in
    effects: str  # (n, 2) 48 kHz WAV of the shot's generated non-dialogue audio
    frames: int
    cached: bool = False
    unmatched_sfx: tuple[str, ...] = ()


class AudioArtifact(Frozen):
    key: str
    path: str
    samples: int
    cached: bool = False
    extra: dict = {}
