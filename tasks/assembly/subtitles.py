"""Subtitles: cues cut from word timings, rendered once as sprites, burned in per frame; SRT/WebVTT sidecars.

Delivery rules (ARCHITECTURE): ≤ 16 CJK / 25 Latin characters per line, ≤ 2 lines per cue, inside the 9:16
safe area (out of the bottom 20 % and the right edge). A cue starts on the frame its first word starts in
(floor of the exact sample time, so never late) and ends at its last word plus a short hold, never
overlapping the next cue.
"""

from __future__ import annotations

import bisect
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError
from schemas.generate import SpokenLine
from tasks.media.files import write_text_atomic
from tasks.media.timebase import timecode
from tasks.video.text import FontError, Sprite, is_cjk, load_font, missing_glyphs, text_rgba

CJK_LINE = 16
LATIN_LINE = 25
MAX_LINES = 2
HOLD_SECONDS = Fraction(3, 10)  # linger after the last word so the eye can finish reading
MIN_SECONDS = Fraction(2, 3)  # no flash cues, when the next cue leaves room
MAX_CUE_SECONDS = 4.0  # a slow speaker's long sentence is split so text does not run far ahead of the voice

SENTENCE_END = set("。！？.!?…;；")
CLAUSE_END = set("，、,:：—)")
CJK_DROP_AT_BREAK = set("，。、")  # Chinese subtitle style: no comma/full stop at the end of a displayed line

# The 9:16 safe area as fractions of the frame: left margin, right edge kept clear for app buttons,
# bottom 20 %.
SAFE_LEFT, SAFE_RIGHT, SAFE_BOTTOM = 0.06, 0.84, 0.80


class SubtitleError(ReelwrightError):
    """Subtitle cues could not be made, rendered or written."""


@dataclass(frozen=True, slots=True)
class SubtitleCue:
    """One on-screen subtitle: frames ``[start_frame, end_frame)``; ``text`` holds at most two lines."""

    start_frame: int
    end_frame: int
    text: str
    speaker: str = ""

    def __post_init__(self) -> None:
        if self.end_frame <= self.start_frame or self.start_frame < 0:
            raise SubtitleError(
                f"cue {self.text!r} spans frames [{self.start_frame}, {self.end_frame})",
                field="end_frame",
                hint="end_frame is exclusive and must exceed start_frame ≥ 0",
            )
        lines = self.text.split("\n")
        if not self.text.strip() or len(lines) > MAX_LINES:
            raise SubtitleError(
                f"cue text {self.text!r} must have 1 or {MAX_LINES} non-empty lines",
                field="text",
                hint="cut long lines into more cues (cues_from_lines does this)",
            )

    def start(self, fps: int | Fraction = 30) -> Fraction:
        return Fraction(self.start_frame) / Fraction(fps)

    def end(self, fps: int | Fraction = 30) -> Fraction:
        return Fraction(self.end_frame) / Fraction(fps)

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")


def is_cjk_lang(lang: str) -> bool:
    return lang.lower().split("-")[0] in ("zh", "ja", "ko", "cmn", "yue")


def line_limit(lang: str) -> int:
    return CJK_LINE if is_cjk_lang(lang) else LATIN_LINE


@dataclass(frozen=True, slots=True)
class _Word:
    text: str  # as displayed, with the punctuation that follows it in the line
    start: int  # samples from the cue-list origin
    end: int


def _align(line: SpokenLine, rate: int, origin: int) -> list[_Word]:
    """Word timings mapped onto the line's text, keeping punctuation that the aligner dropped."""
    base = origin + line.start_sample
    text = line.text
    words = list(line.words)
    if not words:
        # No timings: spread the line's duration over its characters (keeps every cue inside the line).
        pieces = _tokens(text)
        total = sum(len(p.strip()) or 1 for p in pieces) or 1
        dur, acc, out = line.samples, 0, []
        for p in pieces:
            n = len(p.strip()) or 1
            out.append(_Word(p, base + dur * acc // total, base + dur * (acc + n) // total))
            acc += n
        return [w for w in out if w.text.strip()]
    spans: list[tuple[int, int]] = []
    cursor = 0
    folded = text.casefold()
    for w in words:
        pos = folded.find(w.text.casefold().strip(), cursor) if w.text.strip() else -1
        spans.append((pos, len(w.text.strip())))
        if pos >= 0:
            cursor = pos + len(w.text.strip())
    found = [i for i, (pos, _) in enumerate(spans) if pos >= 0]
    if not found:  # the timings do not match the text at all: show the timed words as they are
        spans = [(-1, 0)] * len(words)
    out = []
    for i, (w, (pos, _)) in enumerate(zip(words, spans, strict=True)):
        if not found:
            shown = w.text + ("" if _is_cjk_text(w.text) else " ")
        elif pos < 0:
            shown = ""  # a word the aligner spelled differently: the text around it already shows it
        else:
            nxt = next((p for p, _ in spans[i + 1 :] if p >= 0), len(text))
            shown = text[pos:nxt]
            if i == found[0] and pos > 0:  # anything before the first matched word (quotes, a missed word)
                shown = text[:pos] + shown
        start = base + int(round(w.start * rate))
        end = max(start + 1, base + int(round(w.end * rate)))
        out.append(_Word(shown, start, end))
    return [w for w in out if w.text.strip()]


def _is_cjk_text(text: str) -> bool:
    return any(is_cjk(ch) for ch in text)


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in text:
        if is_cjk(ch) and not _is_punct(ch):
            if word:
                out.append(word)
            word = ch
        elif ch.isspace():
            out.append(word + " ")
            word = ""
        elif _is_punct(ch):
            word += ch
        else:
            if word and is_cjk(word[-1]) and not _is_punct(word[-1]):
                out.append(word)
                word = ""
            word += ch
    if word:
        out.append(word)
    return [t for t in out if t.strip()]


def _is_punct(ch: str) -> bool:
    return unicodedata.category(ch).startswith("P") or ch in SENTENCE_END | CLAUSE_END


def _visible_len(text: str) -> int:
    return len(text.strip())


def _join(parts: Sequence[str]) -> str:
    return "".join(parts).strip()


def _break_lines(parts: Sequence[str], limit: int, cjk: bool) -> list[str] | None:
    """Split word texts into ≤ 2 lines of ≤ ``limit`` characters, preferring punctuation and balance."""
    whole = _clean(_join(parts), cjk)
    if _visible_len(whole) <= limit:
        return [whole]
    best: tuple[float, list[str]] | None = None
    for i in range(1, len(parts)):
        a, b = _clean(_join(parts[:i]), cjk), _clean(_join(parts[i:]), cjk)
        if _visible_len(a) > limit or _visible_len(b) > limit:
            continue
        tail = _tail(parts[i - 1])
        score = abs(_visible_len(a) - _visible_len(b)) - (
            10 if tail in SENTENCE_END else 8 if tail in CLAUSE_END else 0
        )
        if best is None or score < best[0]:
            best = (score, [a, b])
    return best[1] if best else None


def _clean(text: str, cjk: bool) -> str:
    text = " ".join(text.split())
    if cjk:
        text = text.rstrip("".join(CJK_DROP_AT_BREAK)).strip()
    return text


def _split_long(word: _Word, limit: int) -> list[_Word]:
    """A single token longer than a line (a URL, a long compound) is cut with time shared by length."""
    if _visible_len(word.text) <= limit:
        return [word]
    chunks = [word.text[i : i + limit] for i in range(0, len(word.text), limit)]
    dur = word.end - word.start
    out, acc = [], 0
    for c in chunks:
        out.append(
            _Word(
                c,
                word.start + dur * acc // len(word.text),
                word.start + dur * (acc + len(c)) // len(word.text),
            )
        )
        acc += len(c)
    return out


def _tail(text: str) -> str:
    """The last meaningful character (closing quotes and brackets skipped)."""
    stripped = text.rstrip().rstrip("\"'”’」』)）")
    return stripped[-1:] if stripped else ""


def _sentences(words: list[_Word]) -> list[list[_Word]]:
    out: list[list[_Word]] = [[]]
    for w in words:
        out[-1].append(w)
        if _tail(w.text) in SENTENCE_END:
            out.append([])
    return [s for s in out if s]


def _partition(words: list[_Word], limit: int, cjk: bool, max_span: int) -> list[list[_Word]]:
    """Fewest cues that each fit two lines and ``max_span`` samples of speech; among those, balanced
    lengths and cuts at clause punctuation.

    A dynamic programme over cut points: a sentence is short, so the quadratic search costs nothing, and
    unlike a greedy fill it never leaves one orphan word in a cue of its own.
    """
    n = len(words)
    capacity = float(limit * MAX_LINES)
    best: list[tuple[int, float, int] | None] = [None] * (n + 1)  # (cues, cost, previous cut)
    best[0] = (0, 0.0, -1)
    for i in range(1, n + 1):
        for j in range(i - 1, -1, -1):
            if best[j] is None:
                continue
            texts = [w.text for w in words[j:i]]
            too_long = i - j > 1 and words[i - 1].end - words[j].start > max_span
            if too_long or _break_lines(texts, limit, cjk) is None:
                if i - j > 1:
                    break  # longer groups ending at i only get longer
                continue
            used = _visible_len(_clean(_join(texts), cjk)) / capacity
            cost = used * used - (0.3 if _tail(texts[-1]) in CLAUSE_END | SENTENCE_END else 0.0)
            cues, acc, _ = best[j]  # type: ignore[misc]
            cand = (cues + 1, acc + cost, j)
            if best[i] is None or cand[:2] < best[i][:2]:  # type: ignore[index]
                best[i] = cand
    cuts, i = [], n
    while i > 0:
        j = best[i][2]  # type: ignore[index]
        cuts.append((j, i))
        i = j
    return [words[a:b] for a, b in reversed(cuts)]


def _group(words: list[_Word], limit: int, cjk: bool, rate: int) -> list[list[_Word]]:
    """Cues never span a sentence end; a long sentence is partitioned into the fewest balanced cues."""
    pieces = [piece for word in words for piece in _split_long(word, limit)]
    span = int(MAX_CUE_SECONDS * rate)
    return [cue for sentence in _sentences(pieces) for cue in _partition(sentence, limit, cjk, span)]


def cues_from_lines(
    lines: Sequence[SpokenLine],
    *,
    shot_offset_samples: int = 0,
    fps: int | Fraction = 30,
    lang: str,
    rate: int = 48_000,
) -> list[SubtitleCue]:
    """Cut voiced lines into subtitle cues in frames from the origin ``shot_offset_samples``
    samples before them.

    ``shot_offset_samples`` is where the shot starts on the output timeline (0 for a shot on its own). A line
    without word timings (a translation, say) is spread over its duration by character count.
    """
    fps = Fraction(fps)
    if fps <= 0:
        raise SubtitleError(
            f"fps must be positive, got {fps}", field="fps", hint="pass the timeline rate, e.g. 30"
        )
    limit, cjk = line_limit(lang), is_cjk_lang(lang)
    raw: list[tuple[int, int, str, str]] = []  # start sample, end sample, text, speaker
    for i, line in enumerate(lines):
        if line.start_sample < 0 and shot_offset_samples + line.start_sample < 0:
            raise SubtitleError(
                f"line {i} starts before the timeline ({line.start_sample} samples)",
                field=f"lines[{i}].start_sample",
                hint="place lines at or after sample 0",
            )
        for group in _group(_align(line, rate, shot_offset_samples), limit, cjk, rate):
            text_lines = _break_lines([w.text for w in group], limit, cjk)
            if text_lines is None:  # cannot happen after _split_long; keep the guard honest
                raise SubtitleError(
                    f"cannot fit {''.join(w.text for w in group)!r} in two lines", field=f"lines[{i}]"
                )
            text = "\n".join(t for t in text_lines if t)
            if text:
                raw.append((group[0].start, group[-1].end, text, line.character))
    raw.sort(key=lambda r: r[0])
    cues: list[SubtitleCue] = []
    to_frame = fps / rate
    for j, (start, end, text, speaker) in enumerate(raw):
        first = int(Fraction(start) * to_frame)  # floor: the cue is up when the word is heard, never after
        last = -(-Fraction(end) * to_frame // 1)  # ceil
        wanted = max(int(last + HOLD_SECONDS * fps), first + int(-(-MIN_SECONDS * fps // 1)))
        if j + 1 < len(raw):
            wanted = min(wanted, max(int(Fraction(raw[j + 1][0]) * to_frame), first + 1))
        if cues and cues[-1].end_frame > first:  # two speakers overlapping: the earlier cue yields
            prev = cues[-1]
            cues[-1] = SubtitleCue(
                prev.start_frame, max(first, prev.start_frame + 1), prev.text, prev.speaker
            )
        cues.append(SubtitleCue(first, max(int(wanted), first + 1), text, speaker))
    return cues


class SubtitleRenderer:
    """Draws cues into frames. Each cue is rasterised once (Noto Sans SC, outline and shadow) on first use."""

    def __init__(
        self,
        width: int,
        height: int,
        font: str | None = None,
        *,
        cues: Sequence[SubtitleCue] = (),
        size: int | None = None,
    ) -> None:
        if width < 64 or height < 64:
            raise SubtitleError(
                f"frame size {width}x{height} is too small", field="width", hint="use the delivery size"
            )
        self.width, self.height, self.font_path = width, height, font
        self.size = size or max(16, int(round(height * 0.027)))  # 52 px at 1920
        load_font(font, self.size)  # fail now, with the install hint, not at the first cue
        self.cues = sorted(cues, key=lambda c: c.start_frame)
        self._starts = [c.start_frame for c in self.cues]
        self._sprites: dict[int, Sprite] = {}

    @cached_property
    def safe_box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) the subtitle must stay inside."""
        return (
            math.ceil(self.width * SAFE_LEFT),
            int(self.height * 0.5),
            math.floor(self.width * SAFE_RIGHT),
            math.floor(self.height * SAFE_BOTTOM),
        )

    def render(self, cue: SubtitleCue) -> Sprite:
        """The cue as a positioned sprite: shrunk (never below 70 %) or re-wrapped until it fits
        the safe width.
        """
        x0, y0, x1, y1 = self.safe_box
        max_w = x1 - x0
        lines = [ln for ln in cue.lines if ln.strip()]
        size = self.size
        font = load_font(self.font_path, size)
        missing = missing_glyphs(font, cue.text)
        if missing:
            name = Path(self.font_path).name if self.font_path else "NotoSansSC-Regular.otf"
            raise FontError(
                f"the font {name} has no glyph for {''.join(missing)!r} in cue {cue.text!r}",
                field="font",
                hint="use Noto Sans SC (pip install pylopdf-fonts-zh-cn) or remove the characters",
            )
        outline = max(2, size // 16)

        def margin() -> int:  # what text_rgba adds around the glyphs: outline and shadow
            return 2 * (outline + 2 * max(2, size // 14)) + 2

        def too_wide() -> bool:
            return max(font.getlength(ln) for ln in lines) + margin() > max_w

        while too_wide() and size > int(self.size * 0.6):
            size -= 2
            font = load_font(self.font_path, size)
            outline = max(2, size // 16)
        if too_wide():  # a hand-made cue far over the limits: break lines by width, even inside long words
            lines = [piece for ln in lines for piece in _force_wrap(ln, font, max_w - margin())]
        rgba = text_rgba(
            lines,
            font,
            fill=(255, 255, 255),
            outline=(0, 0, 0),
            outline_width=outline,
            shadow=max(2, size // 14),
            line_gap=0.18,
        )
        h, w = rgba.shape[:2]
        x = x0 + (max_w - w) // 2
        y = max(y0, y1 - h)
        return Sprite.from_rgba(np.ascontiguousarray(rgba), x, y)

    def active(self, frame_index: int) -> SubtitleCue | None:
        j = bisect.bisect_right(self._starts, frame_index) - 1
        if j >= 0 and self.cues[j].start_frame <= frame_index < self.cues[j].end_frame:
            return self.cues[j]
        return None

    def sprite(self, j: int) -> Sprite:
        if j not in self._sprites:
            self._sprites[j] = self.render(self.cues[j])
        return self._sprites[j]

    def burn(self, frame: np.ndarray, frame_index: int) -> np.ndarray:
        """Blend the cue showing at ``frame_index`` (if any) into ``frame`` in place; return the frame."""
        if frame.shape[:2] != (self.height, self.width):
            raise SubtitleError(
                f"frame is {frame.shape[1]}x{frame.shape[0]}, the renderer is {self.width}x{self.height}",
                field="frame",
                hint="make the renderer with the delivery size",
            )
        j = bisect.bisect_right(self._starts, frame_index) - 1
        if j >= 0 and self.cues[j].start_frame <= frame_index < self.cues[j].end_frame:
            self.sprite(j).blend(frame)
        return frame


def _force_wrap(line: str, font, max_width: float) -> list[str]:
    """Break a line at whatever character keeps each piece within ``max_width``."""
    out, current = [], ""
    for ch in line:
        if current and font.getlength(current + ch) > max_width:
            out.append(current.rstrip())
            current = ch.lstrip()
        else:
            current += ch
    if current.strip():
        out.append(current)
    return out


def _document(cues: Sequence[SubtitleCue], fps: int | Fraction, sep: str, header: str, numbered: bool) -> str:
    out = [header] if header else []
    for n, cue in enumerate(sorted(cues, key=lambda c: c.start_frame), start=1):
        head = f"{n}\n" if numbered else ""
        out.append(f"{head}{timecode(cue.start(fps), sep)} --> {timecode(cue.end(fps), sep)}\n{cue.text}\n")
    return "\n".join(out)


def write_srt(cues: Sequence[SubtitleCue], path: str | Path, fps: int | Fraction = 30) -> Path:
    """SubRip sidecar, written atomically (UTF-8)."""
    return write_text_atomic(path, _document(cues, fps, ",", "", True))


def write_vtt(cues: Sequence[SubtitleCue], path: str | Path, fps: int | Fraction = 30) -> Path:
    """WebVTT sidecar, written atomically (UTF-8)."""
    return write_text_atomic(path, _document(cues, fps, ".", "WEBVTT\n", False))
