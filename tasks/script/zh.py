"""Chinese short-drama markup → Script.

The convention (see ARCHITECTURE.md and the 《哥哥》 fixture): ``《剧名》``, ``大纲：``, a ``人物小传：``
block of ``名字（年龄）：身份…`` lines, ``第X集：标题``, scene heads ``1-1 日 内 地点``, ``人物：甲、乙``,
``△`` action (other prose is action too), ``角色：（提示）台词``, ``【字幕：…】`` captions and ``【音效：…】``
sound cues. Writers keep these files in Markdown, so headings, quotes, tables, code fences and ``---`` rules
around the script are skipped and ``**bold**`` markers are removed.

Inline cues: ``苏晓：陆天擎不是要羞辱你。（停顿）他有新项目`` is split into dialogue, parenthetical, dialogue
— the same shape Fountain gives a parenthetical between two dialogue lines — so each cue governs the words
after it.
"""

from __future__ import annotations

import re
from pathlib import Path

from schemas.script import Character, Element, ElementKind, Script, TimeOfDay
from tasks.script.build import Piece, SceneDraft, assemble
from tasks.script.cast import parse_entry
from tasks.script.errors import ScriptError
from tasks.script.text import CN_NUMERAL, detect_lang, parse_number, strip_emphasis, time_of_day

_N = f"[{CN_NUMERAL}]+"
TITLE_RE = re.compile(r"^《(?P<title>[^》]+)》$")
TITLE_KEY_RE = re.compile(r"^(?:剧名|片名|标题|剧本名称?)\s*[：:]\s*《?(?P<title>[^》]+)》?$")
SYNOPSIS_RE = re.compile(
    r"^(?:大纲|故事大纲|梗概|故事梗概|简介|剧情简介|内容简介|一句话梗概)\s*[：:]\s*(?P<text>.*)$"
)
CAST_RE = re.compile(
    r"^(?:人物小传|人物介绍|角色介绍|人物设定|主要人物|人物表|角色表|主要角色)\s*[：:]?\s*(?P<text>.*)$"
)
EPISODE_RE = re.compile(rf"^第\s*(?P<num>{_N})\s*集(?:\s*[：:]\s*|\s+|$)(?P<title>.*)$")
SCENE_RE = re.compile(
    rf"^(?:第\s*(?P<ordinal>{_N})\s*场|场景?\s*)?\s*"
    r"(?P<num>\d+\s*[-－—–]\s*\d+)(?=$|[\s、，,.．：:日夜晨早晚黄傍凌清午上下白内外])(?P<rest>.*)$"
)
SCENE_ORDINAL_RE = re.compile(
    rf"^(?:第\s*(?P<ordinal>{_N})\s*场|场景\s*(?P<digits>\d+))[\s：:、.．]*(?P<rest>.*)$"
)
CAST_LINE_RE = re.compile(r"^(?:人物|出场人物|出场|登场人物)\s*[：:]\s*(?P<names>.+)$")
BRACKET_RE = re.compile(r"【\s*(?P<key>[^】：:]+?)\s*(?:[：:]\s*(?P<value>[^】]*?))?\s*】")
SPEAKER_RE = re.compile(
    r"^(?P<name>[\w·•・-]{1,12}?)"
    r"(?P<ext>(?<=[\u4e00-\u9fff])(?:OS|VO|os|vo)|\s*[（(][^（）()]{1,12}[）)])?\s*[：:]\s*(?P<rest>.*)$"
)
CUE_RE = re.compile(r"[（(](?P<cue>[^（）()]*)[）)]")
MD_HEADING_RE = re.compile(r"^#{1,6}\s*(?P<text>.*?)\s*#*$")
RULE_RE = re.compile(r"^(?:[-*_]\s*){3,}$")
LIST_RE = re.compile(r"^(?:[-*+•]\s+)")

INTERIORS = {"内": "INT", "外": "EXT", "内景": "INT", "外景": "EXT"} | dict.fromkeys(
    ["内外", "外内", "内外景"], "INT/EXT"
)
OFF_SCREEN = dict.fromkeys("OS O.S. 画外 画外音 电话 电话音 广播".split(), "OS") | dict.fromkeys(
    "VO V.O. 内心 内心OS 心声 旁白 独白".split(), "VO"
)
BRACKET_KINDS = (
    dict.fromkeys("字幕 标题 字卡 屏幕字".split(), ElementKind.caption)
    | dict.fromkeys("音效 音响 声音 SFX".split(), ElementKind.sfx)
    | {"转场": ElementKind.transition}
)
# "画面：…" and friends are prose labels, and 大纲/人物小传 headers out of place are not speakers either.
NOT_SPEAKERS = frozenset(
    "画面 镜头 时间 地点 场景 注 备注 说明 提示 背景 环境 内容 道具 服装 音乐 配乐 BGM "
    "闪回 特写 全景 近景 远景 插入 切 剧名 标题 集数 "
    "大纲 故事大纲 梗概 简介 人物小传 人物介绍 角色介绍 人物设定 人物表 角色表".split()
)
NARRATORS = {"旁白", "画外音", "解说"}
SPEECH_VERB_END = re.compile(r"[说道问喊答叫想骂笑哭吼]$")
SCENE_FORMAT = "`1-1 日 内 地点`: the scene number, 日/夜/晨/黄昏, 内/外, then the place"


def clean_line(raw: str) -> str:
    """A line without Markdown decoration: bold markers, list bullets, surrounding space."""
    s = raw.strip().replace("\u3000", " ").strip()
    s = strip_emphasis(s).replace("**", "").strip()
    return LIST_RE.sub("", s).strip()


def split_names(text: str) -> list[str]:
    """``林星野、苏晓（旁观）`` → [林星野, 苏晓]: names without their bracketed notes."""
    text = CUE_RE.sub("", text)
    return [n.strip() for n in re.split(r"[、，,/;；\s]+|和|及", text) if n.strip()]


_TIME_ZH = "黄昏|傍晚|清晨|凌晨|白天|深夜|日|夜|晨|早|晚"
_SIDE_ZH = "内外|外内|内|外"


def time_and_place(rest: str) -> tuple[TimeOfDay | None, str | None, list[str]]:
    """Time of day, INT/EXT and the place words of a scene head after its number: ``日 内 新沪市``,
    ``夜/外 天台``, ``新沪市 日 内``, glued ``日内书房``; what is neither time nor side is the place."""
    tod, interior, location = None, None, []
    for token in (t for t in re.split(r"[\s、，,/|·.．。]+", rest) if t):
        glued = re.fullmatch(f"({_TIME_ZH})({_SIDE_ZH})|({_SIDE_ZH})({_TIME_ZH})", token)
        if tod is None and (found := time_of_day(token)) is not None:
            tod = found
        elif token in INTERIORS:
            interior = "INT/EXT" if interior and INTERIORS[token] != interior else INTERIORS[token]
        elif glued:
            words = [g for g in glued.groups() if g]
            tod = next(time_of_day(w) for w in words if time_of_day(w))
            interior = next(INTERIORS[w] for w in words if w in INTERIORS)
        else:
            location.append(token)
    if tod is None and interior is None and (m := re.match(f"^({_TIME_ZH})?({_SIDE_ZH})?(.+)$", rest)):
        if m.group(1) or m.group(2):  # 日内新沪市, with nothing between
            tod = time_of_day(m.group(1)) if m.group(1) else None
            interior = INTERIORS.get(m.group(2) or "")
            location = [m.group(3).strip()]
    return tod, interior, location


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pieces: list[Piece] = []
        self.title = ""
        self.synopsis: list[str] = []
        self.cast: dict[str, Character] = {}
        self.episode: int | None = None
        self.episode_title: str | None = None
        self.mode: str | None = None  # "synopsis" | "cast" while a block is being read
        self.pending_speaker: tuple[str, str | None, int, str] | None = None  # 苏晓： with the words below
        self.scene: SceneDraft | None = None
        self.pending_cast: list[str] = []

    # -- elements --------------------------------------------------------------------------------------------
    def add(self, kind: ElementKind, text: str, line: int, **fields) -> None:
        if kind in (ElementKind.dialogue, ElementKind.action, ElementKind.caption, ElementKind.sfx):
            fields.setdefault("lang", detect_lang(text, "zh"))
        self.pieces.append(Element(kind=kind, text=text, line=line, **fields))

    def brackets(self, text: str) -> tuple[str, list[tuple[ElementKind, str]]]:
        """``text`` without its ``【键：值】`` spans, and the elements those spans stand for."""
        found: list[tuple[ElementKind, str]] = []

        def take(m: re.Match) -> str:
            key, value = m.group("key").strip(), (m.group("value") or "").strip()
            kind = BRACKET_KINDS.get(key.upper() if key.isascii() else key)
            if kind is None:
                found.append((ElementKind.note, f"{key}：{value}" if value else key))
            else:
                found.append((kind, value))
            return ""

        return BRACKET_RE.sub(take, text).strip(), found

    def emit_brackets(self, found: list[tuple[ElementKind, str]], line: int) -> None:
        for kind, value in found:
            self.add(kind, value, line)

    # -- lines -----------------------------------------------------------------------------------------------
    def line(self, s: str, no: int, raw: str) -> None:
        """Take one cleaned line: header blocks first, then scene structure, then the scene body."""
        if not s:
            if self.mode == "synopsis" and self.synopsis:
                self.mode = None
            return
        if self.pending_speaker and not self._structural(s):
            name, ext, line_no, _ = self.pending_speaker
            self.pending_speaker = None
            self.dialogue(name, ext, s, line_no, no)
            return
        self.drop_pending()
        if self.header(s):
            return
        if m := EPISODE_RE.match(s):
            self.episode_head(m, no)
        elif (m := SCENE_RE.match(s)) or (m := SCENE_ORDINAL_RE.match(s)):
            self.scene_head(m, s, no, raw)
        elif self.mode == "cast" and self.cast_entry(s):
            pass
        elif self.mode == "synopsis" and self.scene is None:
            self.synopsis.append(s)
        elif m := CAST_LINE_RE.match(s):
            self.mode = None
            target = self.scene.declared if self.scene else self.pending_cast
            target.extend(n for n in split_names(m.group("names")) if n not in target)
        else:
            self.mode = None
            self.body(s, no)

    def header(self, s: str) -> bool:
        """The title, the 大纲 and the 人物小传 block start; True when ``s`` was one of them."""
        if m := TITLE_RE.match(s):
            self.title = self.title or m.group("title").strip()
            self.mode = None
            return True
        if (m := TITLE_KEY_RE.match(s)) and not self.title:
            self.title = m.group("title").strip()
            return True
        if not self.pieces and not self.scene and (m := SYNOPSIS_RE.match(s)):
            self.mode = "synopsis"
            if m.group("text"):
                self.synopsis.append(m.group("text").strip())
            return True
        if (m := CAST_RE.fullmatch(s)) and (not m.group("text") or parse_entry(m.group("text"))):
            self.mode = "cast"
            if m.group("text"):
                self.cast_entry(m.group("text"))
            return True
        return False

    def body(self, s: str, no: int) -> None:
        """A line inside the script proper: △ action, 角色：台词, or prose (action too)."""
        if s[0] in "△▲":
            s = s[1:].strip()
        elif (m := SPEAKER_RE.match(s)) and self.is_speaker(m.group("name")):
            name, rest = m.group("name"), m.group("rest").strip()
            ext = self.extension(m.group("ext"))
            if m.group("ext") and ext is None:  # 苏晓（轻声）：台词 — a cue, not an extension
                rest = f"（{m.group('ext').strip()[1:-1]}）{rest}"
            if name in BRACKET_KINDS and rest:  # 字幕：三年后 without the 【】
                self.add(BRACKET_KINDS[name], rest, no)
            elif rest:
                self.dialogue(name, ext, rest, no, no)
            else:
                self.pending_speaker = (name, ext, no, s)
            return
        text, found = self.brackets(s)
        if text:
            self.add(ElementKind.action, text, no)
        self.emit_brackets(found, no)

    def drop_pending(self) -> None:
        """A ``名字：`` with no words after it stays in the script as action; lint points it out."""
        if self.pending_speaker:
            _, _, line_no, text = self.pending_speaker
            self.add(ElementKind.action, text, line_no)
            self.pending_speaker = None

    def _structural(self, s: str) -> bool:
        return bool(EPISODE_RE.match(s) or SCENE_RE.match(s) or s[0] in "△▲【" or CAST_LINE_RE.match(s))

    def is_speaker(self, name: str) -> bool:
        if name in NOT_SPEAKERS:
            return False
        if name in BRACKET_KINDS:
            return True
        known = name in self.cast or (self.scene is not None and name in self.scene.declared)
        if known or name in NARRATORS:
            return True
        if re.search(r"[\u4e00-\u9fff]", name) and len(name) > 8:
            return False
        if not re.search(r"[^\W\d_]", name) or (name.isascii() and name.islower()):
            return False  # "23:00 …", "http://…": a time or a link, not a speaker
        return not SPEECH_VERB_END.search(name)

    @staticmethod
    def extension(raw: str | None) -> str | None:
        if not raw:
            return None
        key = raw.strip().strip("（）() ").upper()
        return OFF_SCREEN.get(key)

    def dialogue(self, name: str, ext: str | None, rest: str, cue_line: int, line: int) -> None:
        """Character, then the dialogue split at its bracketed cues: ``台词（停顿）台词`` → dialogue, cue,
        dialogue.
        """
        rest, found = self.brackets(rest)
        segments: list[tuple[ElementKind, str]] = []
        pos = 0
        for m in CUE_RE.finditer(rest):
            before = rest[pos : m.start()].strip()
            if before:
                segments.append((ElementKind.dialogue, before))
            segments.append((ElementKind.parenthetical, m.group(0).strip()))
            pos = m.end()
        if rest[pos:].strip():
            segments.append((ElementKind.dialogue, rest[pos:].strip()))
        if ext is None and segments and segments[0][0] is ElementKind.parenthetical:
            ext = OFF_SCREEN.get(segments[0][1].strip("（）() ").upper())  # （电话音）: heard, not seen
        who = {"character": name, "extension": ext}
        self.add(ElementKind.character, name, cue_line, **who)
        for kind, text in segments:
            if kind is ElementKind.dialogue:
                self.add(kind, text, line, **who)
            else:
                self.pieces.append(Element(kind=kind, text=text, line=line, **who))
        self.emit_brackets(found, line)

    def cast_entry(self, s: str) -> bool:
        character = parse_entry(s)
        if character is None or character.name in NOT_SPEAKERS:
            return False
        self.cast[character.name] = character
        return True

    def episode_head(self, m: re.Match, no: int) -> None:
        number = parse_number(m.group("num"))
        title = m.group("title").strip() or None
        self.mode = None
        if self.episode is None and self.scene is None:
            self.episode, self.episode_title = number, title
        else:  # a second episode in the same file: keep it visible as a section
            self.add(
                ElementKind.section, f"第{m.group('num')}集" + (f"：{title}" if title else ""), no, depth=1
            )

    def scene_head(self, m: re.Match, s: str, no: int, raw: str) -> None:
        self.mode = None
        groups = m.groupdict()
        number = (
            re.sub(r"\s+", "", groups.get("num") or "").replace("－", "-").replace("—", "-").replace("–", "-")
        )
        if not number and groups.get("ordinal"):
            number = str(parse_number(groups["ordinal"]))
        if not number and groups.get("digits"):
            number = groups["digits"]
        rest = groups["rest"]
        declared: list[str] = []
        if cast := re.search(r"(?:人物|出场人物)\s*[：:]", rest):
            declared = split_names(rest[cast.end() :])
            rest = rest[: cast.start()]
        column = max(1, raw.find(rest.strip()) + 1) if rest.strip() else len(raw.rstrip()) + 1
        rest = rest.strip(" \t、，,.．：:")
        tod, interior, location = time_and_place(rest)
        if tod is None and interior is None:
            raise ScriptError(
                f"scene head {number!r} has no time of day and no 内/外",
                file=self.source,
                line=no,
                column=column,
                expected=SCENE_FORMAT,
                hint=f"write it like `{number} 日 内 {''.join(location) or '客厅'}`",
            )
        if not location:
            raise ScriptError(
                f"scene head {number!r} has no place",
                file=self.source,
                line=no,
                column=len(raw.rstrip()) + 1,
                expected=SCENE_FORMAT,
                hint=f"add where it happens, e.g. `{s.strip()} 客厅`",
            )
        self.scene = SceneDraft(
            heading=s.strip(),
            line=no,
            number=number or None,
            interior=interior,
            location=" ".join(location),
            time_of_day=tod or TimeOfDay.unspecified,
            declared=[*self.pending_cast, *declared],
        )
        self.pending_cast = []
        self.pieces.append(self.scene)


def parse_zh(text: str, *, source: str = "<string>") -> Script:
    """The Script of a Chinese short-drama markup document (already decoded and normalised)."""
    parser = _Parser(source)
    fence: str | None = None
    in_comment = False
    for no, raw in enumerate(text.split("\n"), start=1):
        stripped = raw.strip()
        if fence:
            if stripped.startswith(fence):
                fence = None
            continue
        if stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
            continue
        if in_comment or stripped.startswith("<!--"):
            in_comment = "-->" not in stripped
            continue
        if RULE_RE.match(stripped) or stripped.startswith(("|", ">")):
            parser.line("", no, raw)
            continue
        if m := MD_HEADING_RE.match(stripped):
            inner = clean_line(m.group("text"))
            structural = (
                TITLE_RE.match(inner)
                or EPISODE_RE.match(inner)
                or SCENE_RE.match(inner)
                or SYNOPSIS_RE.match(inner)
                or CAST_RE.fullmatch(inner)
            )
            if not structural:
                parser.line("", no, raw)
                continue
            stripped = inner
        parser.line(clean_line(stripped), no, raw)
    parser.drop_pending()
    title = parser.title
    if not title and not source.startswith("<"):
        title = Path(source).stem
    return assemble(
        parser.pieces,
        source=source,
        fmt="zh",
        language="zh",
        title=title or "Untitled",
        episode=parser.episode,
        episode_title=parser.episode_title,
        synopsis="\n".join(parser.synopsis),
        declared=list(parser.cast.values()),
    )
