"""Checks on a parsed Script that are not parse errors: things a producer wants to hear before a render.

``error`` means the render would be wrong or fail (nothing to render, a line nobody can speak); ``warning``
means the script is probably not what the writer meant (a declared character who never speaks, an empty scene,
an orphaned parenthetical, a line too long for one breath).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.script import ElementKind, Script
from tasks.script.text import HAN

MAX_LINE_SECONDS = 20.0  # a single dialogue element longer than this should be split for pacing and subtitles
WORDS_PER_SECOND = 2.7
CJK_PER_SECOND = 4.3
NARRATORS = {"旁白", "NARRATOR", "NARRATION"}
OFF_SCREEN = {"V.O.", "VO", "O.S.", "OS", "O.C."}


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
    return (
        len(HAN.findall(text)) / CJK_PER_SECOND + len(re.findall(r"[A-Za-z0-9']+", text)) / WORDS_PER_SECOND
    )


def _balanced(text: str) -> bool:
    depth = 0
    for ch in text:
        if ch in "(（":
            depth += 1
        elif ch in ")）":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def lint(script: Script) -> list[LintIssue]:
    """Issues in ``script``, in line order."""
    issues: list[LintIssue] = []

    def add(severity: str, line: int, message: str) -> None:
        issues.append(LintIssue(severity=severity, line=line, message=message, file=script.source))

    elements = script.elements()
    speakers = set(script.speakers())
    if not script.scenes and not speakers:
        add(
            "error",
            1,
            "no scenes and no dialogue: nothing to render (add a scene heading such as "
            "`INT. KITCHEN - DAY` or `1-1 日 内 客厅`)",
        )
    for character in script.characters:
        if character.name not in speakers:
            add(
                "warning",
                1,
                f"{character.name} is declared but never speaks (remove them or give them a line)",
            )
    for scene in script.scenes:
        content = [e for e in scene.elements if e.kind not in (ElementKind.note, ElementKind.boneyard)]
        if not content:
            add("warning", scene.line, f"scene {scene.heading!r} has no content (no action, no dialogue)")
        if script.episode is not None and scene.number and "-" in scene.number:
            ep = scene.number.split("-", 1)[0]
            if ep.isdigit() and int(ep) != script.episode:
                add(
                    "warning",
                    scene.line,
                    f"scene {scene.number} is numbered for episode {ep}, "
                    f"but this is episode {script.episode}",
                )
        told: set[str] = set()
        for el in scene.elements:
            if (
                el.character not in told
                and el.kind is ElementKind.dialogue
                and el.character
                and scene.declared
                and el.character not in scene.declared
                and el.character not in NARRATORS
                and (el.extension or "").upper() not in OFF_SCREEN
            ):
                told.add(el.character)
                add(
                    "warning",
                    el.line,
                    f"{el.character} speaks in scene {scene.number or scene.heading} but is not "
                    "in its 人物： list (add them, or mark the line OS/VO)",
                )
    for i, el in enumerate(elements):
        if el.kind is ElementKind.dialogue:
            if not (el.character or "").strip():
                add("error", el.line, "dialogue with no speaker (put the character's name before it)")
            if not el.text.strip():
                add("error", el.line, f"{el.character or 'a character'} has an empty line of dialogue")
            elif (secs := spoken_seconds(el.text)) > MAX_LINE_SECONDS:
                add(
                    "warning",
                    el.line,
                    f"very long line for {el.character}: about {secs:.0f} s spoken "
                    f"(split it; more than {MAX_LINE_SECONDS:.0f} s rarely plays well)",
                )
            if not _balanced(el.text):
                add(
                    "warning",
                    el.line,
                    "unbalanced brackets in dialogue (a cue like （停顿） or (beat) not closed?)",
                )
        elif el.kind is ElementKind.parenthetical:
            nxt = elements[i + 1] if i + 1 < len(elements) else None
            prev = elements[i - 1] if i else None
            attached = any(
                e is not None
                and e.kind in (ElementKind.dialogue, ElementKind.character)
                and e.character == el.character
                for e in (prev, nxt)
            )
            if not attached:
                add("warning", el.line, f"parenthetical {el.text!r} is not attached to any dialogue")
        elif el.kind is ElementKind.action:
            body = el.text.strip()
            if re.fullmatch(r"[(（][^()（）]*[)）]", body):
                add(
                    "warning",
                    el.line,
                    f"{body!r} looks like a parenthetical but stands alone as action "
                    "(remove the empty line between it and the character's dialogue)",
                )
            elif re.fullmatch(r"[\w·•・-]{1,12}\s*[：:]", body) and script.format == "zh":
                add(
                    "warning",
                    el.line,
                    f"{body!r} names a speaker but has no words (write the line after the colon)",
                )
            elif "[[" in body and "]]" not in body:
                add(
                    "warning",
                    el.line,
                    "`[[` opens a note that never closes (notes cannot contain an empty line)",
                )
            if len(body) > 1500:
                add("warning", el.line, "very long action paragraph (split it into beats: one shot each)")
        elif el.kind in (ElementKind.caption, ElementKind.sfx) and not el.text.strip():
            add("error", el.line, f"empty {el.kind.value} (write what it says, e.g. 【字幕：三小时后】)")
    return sorted(issues, key=lambda issue: (issue.line, issue.severity))
