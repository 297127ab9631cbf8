"""The shot plan: scenes → shots, editable as JSON (``reelwright plan`` writes it, ``render --plan`` reads it)."""

from __future__ import annotations

from enum import StrEnum
from fractions import Fraction

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShotType(StrEnum):
    EWS = "EWS"  # extreme wide: establishing
    WS = "WS"
    MS = "MS"
    CU = "CU"
    ECU = "ECU"


class CameraMove(StrEnum):
    static = "static"
    push_in = "push_in"
    pull_out = "pull_out"
    pan_left = "pan_left"
    pan_right = "pan_right"
    tilt_up = "tilt_up"
    tilt_down = "tilt_down"
    handheld = "handheld"


class Mood(StrEnum):
    tense = "tense"
    romantic = "romantic"
    sad = "sad"
    comedic = "comedic"
    suspense = "suspense"
    triumphant = "triumphant"
    calm = "calm"


class PlannedLine(Frozen):
    """A dialogue line inside a shot. Times are seconds from the shot start (planned; speech may refine them)."""

    character: str
    text: str
    parenthetical: str | None = None
    extension: str | None = None  # V.O./O.S./OS: the speaker is heard, not necessarily seen
    lang: str = "en"
    start: float = 0.0
    duration: float = 0.0
    line: int = 0  # source line in the script
    translations: dict[str, str] = Field(default_factory=dict)


class Cue(Frozen):
    """A timed cue inside a shot: a sound effect, an on-screen caption, or a music stinger."""

    kind: str  # "sfx" | "caption" | "stinger"
    text: str
    at: float = 0.0  # seconds from shot start
    duration: float = 0.0
    line: int = 0


class Shot(Frozen):
    id: str  # stable: "sc01-sh03"
    shot_type: ShotType = ShotType.MS
    camera: CameraMove = CameraMove.static
    duration: float  # seconds; the renderer uses round(duration * fps) frames
    on_screen: tuple[str, ...] = ()
    speaker: str | None = None
    action: str = ""
    dialogue: tuple[PlannedLine, ...] = ()
    sfx: tuple[Cue, ...] = ()
    captions: tuple[Cue, ...] = ()
    stinger: bool = False
    seed: int = 0

    def frames(self, fps: Fraction) -> int:
        return max(1, int(Fraction(self.duration).limit_denominator(1_000_000) * fps + Fraction(1, 2)))


class PlannedScene(Frozen):
    index: int
    heading: str
    location: str = ""
    interior: str | None = None
    time_of_day: str = "unspecified"
    mood: Mood = Mood.calm
    characters: tuple[str, ...] = ()
    shots: tuple[Shot, ...] = ()


class ShotPlan(Frozen):
    title: str
    language: str = "en"
    episode: int | None = None
    fps: int = 30
    width: int = 1080
    height: int = 1920
    characters: tuple[str, ...] = ()
    scenes: tuple[PlannedScene, ...] = ()
    source: str | None = None

    def shots(self) -> list[Shot]:
        return [shot for scene in self.scenes for shot in scene.shots]
