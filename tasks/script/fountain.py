"""Fountain (https://fountain.io) → Script.

The parser works in three passes, like the reference parsers: cut the boneyard (``/* */``) and the notes
(``[[ ]]``) out of the text while remembering every character's source line, split what is left into
paragraphs at empty lines, then decide each paragraph's kind from its first line and its neighbours. Where
the spec is silent the behaviour matches screenplain's test files (notes removed from the text around them,
forced transitions upper-cased, leading spaces of action kept).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from schemas.script import Character, Element, ElementKind, Script, TimeOfDay
from tasks.script.build import Piece, SceneDraft, assemble, merge_by_line
from tasks.script.cast import parse_entry
from tasks.script.fountain_text import (
    Line,
    cut_boneyard,
    cut_notes,
    origins_of,
    paragraphs,
    split_lines,
    title_page,
)
from tasks.script.text import (
    CJK_ANY,
    CONTINUOUS_WORDS,
    detect_lang,
    majority_lang,
    parse_number,
    strip_emphasis,
)
from tasks.script.text import time_of_day as tod_of

SCENE_RE = re.compile(
    r"^(?P<ie>INT\.?\s*/\s*EXT|EXT\.?\s*/\s*INT|I\.?\s*/\s*E|INT|EXT|EST|ИНТ|ЭКСТ|НАТ)(?:\.|。|\s)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
SCENE_NUMBER_RE = re.compile(r"\s*#(?P<num>[\w.\-]+)#\s*$")
CENTERED_RE = re.compile(r"^\s*>\s*(?P<text>.*?)\s*<\s*$")
PAGE_BREAK_RE = re.compile(r"^\s*={3,}\s*$")
TRANSITIONS = {"FADE IN:", "FADE OUT.", "FADE OUT:", "FADE TO BLACK.", "CUT TO BLACK.", "FADE TO WHITE."}
EXT_GROUP_RE = re.compile(r"[(（]([^)）]*)[)）]")
CUE_RE = re.compile(r"^(?P<name>[^(（]*?)\s*(?P<ext>(?:[(（][^)）]*[)）]\s*)*)$")
CONTD = re.compile(r"^(CONT['’]?D|CONT\.?|CONTINUED|CONTINUING)$", re.IGNORECASE)
LETTER = re.compile(r"[^\W\d_]")
SENTENCE_END = re.compile(r"[.!?。！？…，,；;：:]$")

INTERIOR = {"INT": "INT", "EXT": "EXT", "EST": "EXT", "ИНТ": "INT", "ЭКСТ": "EXT", "НАТ": "EXT"}


# -- pass 3: element kinds -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cue:
    name: str
    extension: str | None
    dual: bool
    forced: bool


def character_cue(raw: str) -> Cue | None:
    """The character cue on this line (``NAME``, ``NAME (V.O.)``, ``@McNAME``, ``NAME ^``), or None.

    A cue is upper case with at least one letter; names in scripts without letter case (Chinese, Japanese)
    count when short and free of sentence punctuation. Extensions may be lower case (``HANS (on the radio)``).
    """
    s = raw.strip()
    forced = s.startswith("@")
    if forced:
        s = s[1:].strip()
    dual = s.endswith("^")
    if dual:
        s = s[:-1].rstrip()
    m = CUE_RE.match(s)
    if not m:
        return None
    name = m.group("name").strip()
    if not name or not LETTER.search(name):
        return None
    if not forced:
        if name != name.upper() or SENTENCE_END.search(name) or SCENE_RE.match(name):
            return None
        if CJK_ANY.search(name) and (len(name) > 12 or re.search(r"[\s，。！？、；：「」“”]", name)):
            return None
    groups = [g.strip() for g in EXT_GROUP_RE.findall(m.group("ext"))]
    groups = [g for g in groups if g]
    meaningful = [g for g in groups if not CONTD.match(g)]
    extension = ", ".join(meaningful or groups) or None
    return Cue(name=name, extension=extension, dual=dual, forced=forced)


def parse_heading(text: str, line: int, forced: bool) -> SceneDraft:
    """A SceneDraft from a heading line: interior, location and time of day split at the dashes."""
    number = None
    if m := SCENE_NUMBER_RE.search(text):
        number = m.group("num")
        text = text[: m.start()].rstrip()
    heading = text[1:].strip() if forced else text.strip()
    interior = None
    rest = heading
    if not forced and (m := SCENE_RE.match(heading)):
        prefix = re.sub(r"[\s.]", "", m.group("ie")).upper()
        interior = "INT/EXT" if "/" in prefix else INTERIOR.get(prefix)
        rest = m.group("rest")
    rest = rest.strip().lstrip("-–— ").strip()
    parts = [p.strip() for p in re.split(r"\s+[-–—]+\s+|\s*[–—]\s*", rest) if p.strip()]
    if len(parts) == 1 and "-" in rest:
        pieces = [p.strip() for p in rest.rsplit("-", 1)]
        if tod_of(pieces[-1]) is not None:
            parts = pieces
    if len(parts) == 1 and " " in rest:
        words = rest.rsplit(" ", 1)
        if tod_of(words[-1]) is not None:
            parts = words
    tod, continuous, cut = TimeOfDay.unspecified, False, len(parts)
    for i, part in enumerate(parts):
        bare = re.sub(r"\s*[(（][^)）]*[)）]", "", part).strip()
        if (found := tod_of(bare)) is not None and tod is TimeOfDay.unspecified:
            tod, cut = found, min(cut, i)
        elif bare.upper() in CONTINUOUS_WORDS and not continuous and tod is TimeOfDay.unspecified:
            continuous, cut = True, min(cut, i)
    location = " - ".join(parts[:cut]) if cut else " - ".join(parts)
    if cut == 0:
        location = ""
    return SceneDraft(
        heading=heading,
        line=line,
        number=number,
        interior=interior,
        location=location,
        time_of_day=tod,
        continuous=continuous,
    )


def _is_heading(para: list[Line]) -> bool:
    s = para[0].text
    if s.startswith(".") and not s.startswith("..") and len(s) > 1 and not s[1].isspace():
        return True
    if not SCENE_RE.match(s):
        return False
    # Spec: a heading stands alone. Accept a following line only under an UPPERCASE heading (never prose).
    return len(para) == 1 or s == s.upper()


def _is_transition(para: list[Line]) -> bool:
    if len(para) != 1:
        return False
    raw, s = para[0].raw, para[0].text
    if s.startswith(">") and not s.endswith("<"):
        return True
    if raw != raw.rstrip() or s != s.upper() or not LETTER.search(s):
        return False
    return s.endswith("TO:") or s in TRANSITIONS


def _parenthetical_end(rest: list[Line], i: int) -> int | None:
    """The index of the line closing a parenthetical that opens on ``rest[i]``, or None if none opens there.

    ``(beat)`` closes on its own line; ``(starting`` … ``the engine)`` spans lines until one ends with ``)``.
    ``(smiles) I know.`` is dialogue, and so is an opening bracket that never closes.
    """
    first = rest[i].text
    if not first.startswith(("(", "（")):
        return None
    if first.endswith((")", "）")):
        return i
    if ")" in first or "）" in first:
        return None
    for end in range(i + 1, len(rest)):
        text = rest[end].text
        if text.startswith(("(", "（")):
            return None
        if text.endswith((")", "）")):
            return end
    return None


class _Body:
    """Walks the paragraphs and collects pieces in order."""

    def __init__(self) -> None:
        self.pieces: list[Piece] = []

    def add(self, kind: ElementKind, text: str, line: int, **fields) -> None:
        self.pieces.append(Element(kind=kind, text=text, line=line, **fields))

    def paragraph(self, para: list[Line]) -> None:
        while para:
            para = self._one(para)

    def _one(self, para: list[Line]) -> list[Line]:
        """Consume the leading element(s) of ``para``; return what is left to classify."""
        first = para[0]
        s = first.text
        if PAGE_BREAK_RE.match(first.raw):
            self.add(ElementKind.page_break, "", first.no)
            return para[1:]
        if s.startswith("#"):
            depth = len(s) - len(s.lstrip("#"))
            self.add(ElementKind.section, s[depth:].strip(), first.no, depth=depth)
            return para[1:]
        if s.startswith("=") and not s.startswith("==="):
            self.add(ElementKind.synopsis, strip_emphasis(s[1:].strip()), first.no)
            return para[1:]
        if _is_heading(para):
            self.pieces.append(parse_heading(s, first.no, forced=s.startswith(".")))
            return para[1:]
        if _is_transition(para):
            text = s[1:].strip().upper() if s.startswith(">") else s
            self.add(ElementKind.transition, strip_emphasis(text), first.no, forced=s.startswith(">"))
            return []
        if CENTERED_RE.match(first.raw):
            n = 0
            while n < len(para) and CENTERED_RE.match(para[n].raw):
                n += 1
            text = "\n".join(CENTERED_RE.match(line.raw).group("text") for line in para[:n])
            self.add(ElementKind.centered, strip_emphasis(text), first.no)
            return para[n:]
        if s.startswith("~"):
            n = 0
            while n < len(para) and para[n].text.startswith("~"):
                n += 1
            text = "\n".join(line.text[1:].strip() for line in para[:n])
            self.add(ElementKind.lyrics, strip_emphasis(text), first.no)
            return para[n:]
        if len(para) >= 2 and not s.startswith("!") and (cue := character_cue(first.raw)):
            self._dialogue(cue, para)
            return []
        self._action(para)
        return []

    def _action(self, para: list[Line]) -> None:
        forced = para[0].text.startswith("!")
        rows = [line.raw.rstrip() for line in para]
        if forced:
            rows[0] = rows[0].lstrip()[1:]
        text = strip_emphasis("\n".join(rows).replace("\t", "    "))
        self.add(ElementKind.action, text, para[0].no, forced=forced)

    def _dialogue(self, cue: Cue, para: list[Line]) -> None:
        who = {"character": cue.name, "extension": cue.extension, "dual": cue.dual}
        self.add(ElementKind.character, cue.name, para[0].no, forced=cue.forced, **who)
        spoken: list[str] = []
        start = 0

        def flush() -> None:
            while spoken and not spoken[-1]:
                spoken.pop()
            if spoken:
                self.add(ElementKind.dialogue, strip_emphasis("\n".join(spoken)), start, **who)
            spoken.clear()

        rest = para[1:]
        i = 0
        while i < len(rest):
            line, s = rest[i], rest[i].text
            end = _parenthetical_end(rest, i)
            if end is not None:
                flush()
                text = " ".join(r.text for r in rest[i : end + 1])
                self.add(ElementKind.parenthetical, strip_emphasis(text), line.no, **who)
                i = end + 1
                continue
            if s.startswith("~"):
                flush()
                self.add(ElementKind.lyrics, strip_emphasis(s[1:].strip()), line.no, **who)
            elif s or spoken:
                if not spoken:
                    start = line.no
                spoken.append(s)
            i += 1
        flush()


def parse_fountain(text: str, *, source: str = "<string>") -> Script:
    """The Script of a Fountain document (already decoded and normalised)."""
    origins = origins_of(text)
    text, origins, boneyard = cut_boneyard(text, origins, source)
    text, origins, notes = cut_notes(text, origins)
    lines = split_lines(text, origins)
    pairs, start = title_page(lines)
    body = _Body()
    for para in paragraphs(lines[start:]):
        body.paragraph(para)
    pieces = merge_by_line(body.pieces, boneyard + notes)

    meta = {k.lower(): v for k, v in pairs}
    spoken = [p.text for p in pieces if isinstance(p, Element) and p.kind is ElementKind.dialogue]
    language = meta.get("language", "").strip().lower() or majority_lang(spoken, "en")
    pieces = [
        p.model_copy(update={"lang": detect_lang(p.text, language)})
        if isinstance(p, Element) and p.kind in (ElementKind.dialogue, ElementKind.lyrics) and p.character
        else p
        for p in pieces
    ]
    title = " ".join(strip_emphasis(meta.get("title", "")).split())
    if not title and source != "<string>" and not source.startswith("<"):
        stem = Path(source).stem.replace("_", " ").replace("-", " ").strip()
        title = stem.title() if stem == stem.lower() else stem
    return assemble(
        pieces,
        source=source,
        fmt="fountain",
        language=language,
        title=title or "Untitled",
        title_page=tuple(pairs),
        episode=parse_number(meta.get("episode", "")) if meta.get("episode") else None,
        synopsis=strip_emphasis(meta.get("synopsis") or meta.get("logline") or ""),
        declared=declared_cast(meta.get("characters") or meta.get("cast") or ""),
    )


def declared_cast(value: str) -> list[Character]:
    """The ``Characters:`` (or ``Cast:``) title-page entry, one ``NAME (age, gender): description`` per line.

    Not in the Fountain spec, but other keys are free-form, and ages and genders here steer voice casting.
    """
    found = [parse_entry(strip_emphasis(line), upper=True) for line in value.split("\n") if line.strip()]
    return [c for c in found if c is not None]
