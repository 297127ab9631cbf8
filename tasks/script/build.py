"""Turning a flat, ordered list of parsed pieces into a ``Script``.

Both text parsers emit the same things in source order — elements, and scene heads (``SceneDraft``) — so the
grouping into scenes, the cast list and the language are decided once, here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.script import Character, Element, ElementKind, Scene, Script, TimeOfDay
from tasks.script.errors import ScriptError


@dataclass
class SceneDraft:
    """A scene head as parsed, before its elements are attached."""

    heading: str
    line: int
    number: str | None = None
    interior: str | None = None
    location: str = ""
    time_of_day: TimeOfDay = TimeOfDay.unspecified
    continuous: bool = False  # CONTINUOUS / SAME: take the previous scene's time of day
    declared: list[str] = field(default_factory=list)  # 人物：甲、乙


Piece = Element | SceneDraft
COMMENTS = (ElementKind.note, ElementKind.boneyard)


def _line_of(piece: Piece) -> int:
    return piece.line


def merge_by_line(main: list[Piece], extra: list[Element]) -> list[Piece]:
    """``main`` with each of ``extra`` (notes, boneyard) after the last piece starting on or before it."""
    out = list(main)
    for el in sorted(extra, key=_line_of):
        pos = len(out)
        while pos > 0 and _line_of(out[pos - 1]) > el.line:
            pos -= 1
        out.insert(pos, el)
    return out


def assemble(
    pieces: list[Piece],
    *,
    source: str,
    fmt: str,
    language: str,
    title: str = "Untitled",
    title_page: tuple[tuple[str, str], ...] = (),
    episode: int | None = None,
    episode_title: str | None = None,
    synopsis: str = "",
    declared: list[Character] | None = None,
) -> Script:
    """The Script of ``pieces``; a ScriptError when there is nothing in them but comments."""
    preamble: list[Element] = []
    drafts: list[tuple[SceneDraft, list[Element]]] = []
    for piece in pieces:
        if isinstance(piece, SceneDraft):
            drafts.append((piece, []))
        elif drafts:
            drafts[-1][1].append(piece)
        else:
            preamble.append(piece)

    speakers: dict[str, None] = {}
    for el in (p for p in pieces if isinstance(p, Element)):
        if el.kind is ElementKind.dialogue and el.character:
            speakers.setdefault(el.character, None)
    if not drafts and not any(isinstance(p, Element) and p.kind not in COMMENTS for p in pieces):
        # Fragments (only action, only sections) still parse and lint flags them; a file that is nothing but a
        # title page, notes or boneyard is a mistake.
        raise ScriptError(
            "the script has no scenes, no dialogue and no action",
            file=source,
            expected="a scene heading (`INT. KITCHEN - DAY`, `1-1 日 内 客厅`) or a line of dialogue",
            hint="a Fountain character cue is an UPPERCASE name alone on a line, the dialogue on the next",
        )

    scenes: list[Scene] = []
    previous = TimeOfDay.unspecified
    for draft, elements in drafts:
        tod = draft.time_of_day
        if tod is TimeOfDay.unspecified and draft.continuous:
            tod = previous
        previous = tod
        cast: dict[str, None] = dict.fromkeys(draft.declared)
        for el in elements:
            if el.kind is ElementKind.dialogue and el.character:
                cast.setdefault(el.character, None)
        scenes.append(
            Scene(
                heading=draft.heading,
                line=draft.line,
                number=draft.number,
                interior=draft.interior,
                location=draft.location,
                time_of_day=tod,
                characters=tuple(cast),
                declared=tuple(draft.declared),
                elements=tuple(elements),
            )
        )

    characters: dict[str, Character] = {c.name: c for c in declared or []}
    for draft, _ in drafts:
        for name in draft.declared:
            characters.setdefault(name, Character(name=name))
    for name in speakers:
        characters.setdefault(name, Character(name=name))
    return Script(
        title=title or "Untitled",
        title_page=title_page,
        language=language,
        episode=episode,
        episode_title=episode_title,
        synopsis=synopsis,
        characters=tuple(characters.values()),
        preamble=tuple(preamble),
        scenes=tuple(scenes),
        source=source,
        format=fmt,
    )
