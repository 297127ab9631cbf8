"""Fountain's first two passes: cut the boneyard and notes out (keeping every line's source number), read the
title page, and split the body into paragraphs. What each paragraph is gets decided in ``fountain.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.script import Element, ElementKind
from tasks.script.errors import ScriptError

TITLE_KEY_RE = re.compile(r"^(?P<key>[A-Za-z][A-Za-z0-9 _-]{0,30}?)\s*[:：]\s*(?P<value>.*)$")
NOTE_RE = re.compile(r"\[\[(?P<body>(?:[^\]\n]|\](?!\])|\n(?!\n))*)\]\]")
TITLE_KEYS = frozenset(
    "title credit author authors source date contact copyright notes revision episode language logline "
    "synopsis series format characters cast".split()
) | {"draft date", "based on", "written by"}


@dataclass(frozen=True)
class Line:
    """One source line after the boneyard and notes are cut: its 1-based source line number and raw text."""

    no: int
    raw: str

    @property
    def text(self) -> str:
        return self.raw.strip()

    @property
    def soft_blank(self) -> bool:
        """Two or more spaces alone on a line: an empty line that does not end the current block (spec)."""
        return len(self.raw) >= 2 and self.raw.strip(" ") == ""


# -- pass 1: boneyard and notes ------------------------------------------------------------------------------


def origins_of(text: str) -> list[int]:
    """The 1-based source line of every character: cutting text and this list together keeps line numbers."""
    out, line = [], 1
    for ch in text:
        out.append(line)
        if ch == "\n":
            line += 1
    return out


def _cut(text: str, origins: list[int], start: int, end: int) -> tuple[str, list[int]]:
    """Remove text[start:end]; where that leaves two spaces side by side, keep one."""
    if 0 < start and end < len(text) and text[start - 1] == " " and text[end] == " ":
        end += 1
    return text[:start] + text[end:], origins[:start] + origins[end:]


def cut_boneyard(text: str, origins: list[int], source: str) -> tuple[str, list[int], list[Element]]:
    """Remove every ``/* … */`` span; each becomes a boneyard element. An unclosed ``/*`` is an error."""
    found: list[Element] = []
    pos = 0
    while (start := text.find("/*", pos)) >= 0:
        end = text.find("*/", start + 2)
        if end < 0:
            line = origins[start]
            column = start - text.rfind("\n", 0, start)
            raise ScriptError(
                "a boneyard `/*` is never closed",
                file=source,
                line=line,
                column=column,
                expected="a matching `*/` after it",
                hint=f"add `*/` where the cut text ends (it opens on line {line})",
            )
        found.append(
            Element(kind=ElementKind.boneyard, text=text[start + 2 : end].strip(), line=origins[start])
        )
        text, origins = _cut(text, origins, start, end + 2)
        pos = start
    return text, origins, found


def cut_notes(text: str, origins: list[int]) -> tuple[str, list[int], list[Element]]:
    """Remove every ``[[ … ]]`` (it may span lines, but not an empty line); each becomes a note element."""
    found: list[Element] = []
    pos = 0
    while m := NOTE_RE.search(text, pos):
        body = "\n".join(part.strip() for part in m.group("body").split("\n")).strip()
        found.append(Element(kind=ElementKind.note, text=body, line=origins[m.start()]))
        text, origins = _cut(text, origins, m.start(), m.end())
        pos = m.start()
    return text, origins, found


def split_lines(text: str, origins: list[int]) -> list[Line]:
    lines, offset = [], 0
    last = origins[-1] if origins else 1
    for raw in text.split("\n"):
        no = origins[offset] if offset < len(origins) else last + 1
        lines.append(Line(no, raw.rstrip("\n")))
        offset += len(raw) + 1
    return lines


# -- pass 2: title page and paragraphs -----------------------------------------------------------------------


def title_page(lines: list[Line]) -> tuple[list[tuple[str, str]], int]:
    """The title page's (key, value) pairs and the index of the first body line (0 when there is no title
    page).
    """
    i = 0
    while i < len(lines) and not lines[i].text:
        i += 1
    if i == len(lines):
        return [], 0
    m = TITLE_KEY_RE.match(lines[i].raw)
    if not m:
        return [], 0
    key = m.group("key").strip()
    if key.lower() not in TITLE_KEYS and key == key.upper():
        return [], 0  # "FADE IN:" and friends are not title-page keys
    pairs: list[list[str]] = []
    while i < len(lines) and lines[i].text:
        raw = lines[i].raw
        m = TITLE_KEY_RE.match(raw)
        if m and not raw[:1].isspace():
            pairs.append([m.group("key").strip(), m.group("value").strip()])
        elif pairs:
            value = pairs[-1][1]
            pairs[-1][1] = f"{value}\n{raw.strip()}" if value else raw.strip()
        i += 1
    return [(k, v) for k, v in pairs], i


def paragraphs(lines: list[Line]) -> list[list[Line]]:
    """Lines grouped at empty lines; a soft blank (two spaces) stays inside its paragraph."""
    out: list[list[Line]] = []
    current: list[Line] = []
    for line in lines:
        if line.text or line.soft_blank:
            current.append(line)
        elif current:
            out.append(current)
            current = []
    if current:
        out.append(current)
    trimmed = []
    for para in out:
        while para and not para[0].text:
            para = para[1:]
        while para and not para[-1].text:
            para = para[:-1]
        if para:
            trimmed.append(para)
    return trimmed
