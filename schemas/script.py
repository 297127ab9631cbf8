"""The Script: what every script format (Fountain, Chinese short-drama markup, YAML/JSON) parses into."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ElementKind(StrEnum):
    scene_heading = "scene_heading"
    action = "action"
    character = "character"
    parenthetical = "parenthetical"
    dialogue = "dialogue"
    lyrics = "lyrics"
    transition = "transition"
    centered = "centered"
    note = "note"
    boneyard = "boneyard"
    section = "section"
    synopsis = "synopsis"
    page_break = "page_break"
    caption = "caption"  # 【字幕：…】 on-screen text
    sfx = "sfx"  # 【音效：…】 an explicit sound cue


class Element(Frozen):
    """One element in script order.

    Fountain's character / parenthetical / dialogue triple is kept as separate elements (the order other parsers
    produce); ``Script.dialogue_lines`` groups them. ``line`` is the 1-based source line.
    """

    kind: ElementKind
    text: str = ""
    line: int = 0
    character: str | None = None  # set on character, parenthetical and dialogue elements
    extension: str | None = None  # V.O., O.S., CONT'D, OS, VO
    dual: bool = False  # the second speaker of a dual-dialogue block (Fountain ``^``)
    forced: bool = False
    scene_number: str | None = None
    depth: int = 0  # section depth (number of #)
    lang: str | None = None  # BCP-47-ish: "en", "zh"
    translations: dict[str, str] = Field(default_factory=dict)  # dialogue: lang -> translated line


class DialogueLine(Frozen):
    """One spoken line with its delivery cue, as ``Script.dialogue_lines`` groups them.

    ``parenthetical`` is the cue without its brackets (``cold``, ``低声``): the part TTS and emotion need.
    """

    character: str
    text: str
    line: int = 0
    parenthetical: str | None = None
    extension: str | None = None
    dual: bool = False
    lang: str | None = None


class TimeOfDay(StrEnum):
    day = "day"
    night = "night"
    dawn = "dawn"
    dusk = "dusk"
    unspecified = "unspecified"


class Character(Frozen):
    name: str
    description: str = ""
    age: int | None = None
    gender: str | None = None  # "female" | "male" | None (unknown)
    aliases: tuple[str, ...] = ()


class Scene(Frozen):
    heading: str
    line: int = 0
    number: str | None = None
    interior: str | None = None  # "INT", "EXT", "INT/EXT" (内/外 map to INT/EXT)
    location: str = ""
    time_of_day: TimeOfDay = TimeOfDay.unspecified
    characters: tuple[str, ...] = ()  # declared cast (人物：…) plus everyone who speaks
    declared: tuple[str, ...] = ()  # only the declared cast (人物：…), for checks against who actually speaks
    elements: tuple[Element, ...] = ()


class Script(Frozen):
    title: str = "Untitled"
    title_page: tuple[tuple[str, str], ...] = ()  # ordered (key, value) pairs
    language: str = "en"
    episode: int | None = None
    episode_title: str | None = None
    synopsis: str = ""
    characters: tuple[Character, ...] = ()
    preamble: tuple[Element, ...] = ()  # elements before the first scene heading
    scenes: tuple[Scene, ...] = ()
    source: str | None = None  # the file it was parsed from
    format: str = "fountain"  # fountain | zh | yaml | json

    def elements(self) -> list[Element]:
        """Every element in order, scene headings included."""
        out = list(self.preamble)
        for scene in self.scenes:
            out.append(Element(kind=ElementKind.scene_heading, text=scene.heading, line=scene.line, scene_number=scene.number))
            out.extend(scene.elements)
        return out

    def dialogue_lines(self) -> list[DialogueLine]:
        """Every dialogue element with the parenthetical just before it (its delivery cue), in order."""
        out: list[DialogueLine] = []
        cue: str | None = None
        for el in self.elements():
            if el.kind is ElementKind.parenthetical:
                cue = el.text.strip().strip("()（） ") or None
            elif el.kind is ElementKind.dialogue and el.character:
                out.append(
                    DialogueLine(
                        character=el.character, text=el.text, line=el.line, parenthetical=cue,
                        extension=el.extension, dual=el.dual, lang=el.lang,
                    )
                )  # fmt: skip
                cue = None
            elif el.kind is not ElementKind.character:
                cue = None
        return out

    def speakers(self) -> list[str]:
        seen: dict[str, None] = {}
        for el in self.elements():
            if el.kind is ElementKind.dialogue and el.character:
                seen.setdefault(el.character, None)
        return list(seen)
