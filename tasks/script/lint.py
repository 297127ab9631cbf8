"""Checks on a parsed Script that are not parse errors: things a producer wants to hear before a render.

``error`` means the render would be wrong or fail (nothing to render, a line nobody can speak); ``warning``
means the script is probably not what the writer meant (a declared character who never speaks, an empty scene,
an orphaned parenthetical, a line too long for one breath).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.script import Element, ElementKind, Scene, Script
from tasks.script.text import HAN

MAX_LINE_SECONDS = 20.0  # one dialogue element longer than this should be split for pacing and subtitles
WORDS_PER_SECOND = 2.7
CJK_PER_SECOND = 4.3
NARRATORS = {"旁白", "NARRATOR", "NARRATION"}
OFF_SCREEN = {"V.O.", "VO", "O.S.", "OS", "O.C."}
ORPHAN_CUE = re.compile(r"[(（][^()（）]*[)）]")
BARE_SPEAKER = re.compile(r"[\w·•・-]{1,12}\s*[：:]")

Found = tuple[str, int, str]  # severity, line, message


class LintIssue(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    severity: Literal["error", "warning"]
    line: int
    message: str
    file: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        return f"{where}: {self.severity}: {self.message}"


def spoken_seconds(text: str) -> float:
    """Rough speaking time: CJK characters and Latin words at conversational pace."""
    words = len(re.findall(r"[A-Za-z0-9']+", text))
    return len(HAN.findall(text)) / CJK_PER_SECOND + words / WORDS_PER_SECOND


def _warn(line: int, message: str) -> Found:
    return "warning", line, message


def _error(line: int, message: str) -> Found:
    return "error", line, message


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        depth += (ch in "(（") - (ch in ")）")
        if depth < 0:
            return False
    return depth == 0


def _script_checks(script: Script) -> Iterator[Found]:
    speakers = set(script.speakers())
    if not script.scenes and not speakers:
        yield _error(
            1, "no scenes and no dialogue: nothing to render (add a scene heading: `INT. KITCHEN - DAY`)"
        )
    for character in script.characters:
        if character.name not in speakers:
            yield _warn(1, f"{character.name} is declared but never speaks (remove them or give them a line)")


def _scene_checks(script: Script, scene: Scene) -> Iterator[Found]:
    if not [e for e in scene.elements if e.kind not in (ElementKind.note, ElementKind.boneyard)]:
        yield _warn(scene.line, f"scene {scene.heading!r} has no content (no action, no dialogue)")
    episode = (scene.number or "").split("-", 1)[0]
    if script.episode is not None and "-" in (scene.number or "") and episode.isdigit():
        if int(episode) != script.episode:
            message = (
                f"scene {scene.number} is numbered for episode {episode}; this is episode {script.episode}"
            )
            yield _warn(scene.line, message)
    told: set[str] = set()
    for el in scene.elements:
        name = el.character or ""
        off_screen = name in NARRATORS or (el.extension or "").upper() in OFF_SCREEN
        unlisted = scene.declared and name not in scene.declared and not off_screen
        if el.kind is ElementKind.dialogue and unlisted and name and name not in told:
            told.add(name)
            where = scene.number or scene.heading
            yield _warn(
                el.line,
                f"{name} speaks in scene {where} but is not in its 人物： list (add them or mark OS/VO)",
            )


def _dialogue_checks(el: Element) -> Iterator[Found]:
    if not (el.character or "").strip():
        yield _error(el.line, "dialogue with no speaker (put the character's name before it)")
    if not el.text.strip():
        yield _error(el.line, f"{el.character or 'a character'} has an empty line of dialogue")
    elif (secs := spoken_seconds(el.text)) > MAX_LINE_SECONDS:
        limit = f"{MAX_LINE_SECONDS:.0f} s"
        yield _warn(
            el.line, f"very long line for {el.character}: about {secs:.0f} s spoken (split it; over {limit})"
        )
    if not _balanced(el.text):
        yield _warn(el.line, "unbalanced brackets in dialogue (a cue like （停顿） or (beat) not closed?)")


def _action_checks(script: Script, el: Element) -> Iterator[Found]:
    body = el.text.strip()
    if ORPHAN_CUE.fullmatch(body):
        fix = "remove the empty line between it and the character's dialogue"
        yield _warn(el.line, f"{body!r} looks like a parenthetical but stands alone as action ({fix})")
    elif script.format == "zh" and BARE_SPEAKER.fullmatch(body):
        yield _warn(el.line, f"{body!r} names a speaker but has no words (write the line after the colon)")
    elif "[[" in body and "]]" not in body:
        yield _warn(el.line, "`[[` opens a note that never closes (a note cannot contain an empty line)")
    if len(body) > 1500:
        yield _warn(el.line, "very long action paragraph (split it into beats: one shot each)")


def _element_checks(script: Script) -> Iterator[Found]:
    elements = script.elements()
    for i, el in enumerate(elements):
        if el.kind is ElementKind.dialogue:
            yield from _dialogue_checks(el)
        elif el.kind is ElementKind.action:
            yield from _action_checks(script, el)
        elif el.kind is ElementKind.parenthetical:
            neighbours = elements[max(0, i - 1) : i] + elements[i + 1 : i + 2]
            spoken = (ElementKind.dialogue, ElementKind.character)
            if not any(e.kind in spoken and e.character == el.character for e in neighbours):
                yield _warn(el.line, f"parenthetical {el.text!r} is not attached to any dialogue")
        elif el.kind in (ElementKind.caption, ElementKind.sfx) and not el.text.strip():
            yield _error(el.line, f"empty {el.kind.value} (write what it says, e.g. 【字幕：三小时后】)")


def lint(script: Script) -> list[LintIssue]:
    """Issues in ``script``, in line order."""
    found = [*_script_checks(script), *_element_checks(script)]
    for scene in script.scenes:
        found.extend(_scene_checks(script, scene))
    issues = [LintIssue(severity=s, line=n, message=m, file=script.source) for s, n, m in found]
    return sorted(issues, key=lambda issue: (issue.line, issue.severity))
