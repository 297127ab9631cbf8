"""Shot requests and results: the unified generation interface every backend implements.

A request carries text, the dialogue already spoken (audio the backend must keep and sync to), reference
images/clips and an optional mask: an all-zero mask means text-to-video, a kept first frame image-to-video, any
other mask an edit (ARCHITECTURE: the masked-conditioning interface).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from schemas.plan import Cue, Shot


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WordTiming(Frozen):
    """A spoken word (or CJK character group) in seconds from the start of its line's audio."""

    text: str
    start: float
    end: float


class SpokenLine(Frozen):
    """A dialogue line after speech synthesis, placed in its shot.

    ``audio`` is a mono 48 kHz float WAV in the asset store; ``start_sample`` counts 48 kHz samples from the shot
    start; ``words`` are relative to the line's own start.
    """

    character: str
    text: str
    lang: str
    audio: str
    start_sample: int
    samples: int
    words: tuple[WordTiming, ...] = ()
    parenthetical: str | None = None
    voice: str = ""
    on_screen: bool = True  # False for V.O./O.S. lines


class SceneContext(Frozen):
    index: int
    heading: str
    location: str = ""
    interior: str | None = None
    time_of_day: str = "unspecified"
    mood: str = "calm"


class ShotRequest(Frozen):
    shot: Shot
    scene: SceneContext
    prompt: str  # text description of the shot (location, who, action)
    frames: int
    fps: int = 30
    width: int = 1080
    height: int = 1920
    sample_rate: int = 48_000
    lines: tuple[SpokenLine, ...] = ()
    sfx: tuple[Cue, ...] = ()
    references: tuple[str, ...] = ()  # image / clip paths (identity, style)
    mask: str | None = None  # path of a mask image/clip (white = generate); None = generate everything
    seed: int = 0
    language: str = "en"
