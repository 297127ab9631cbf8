"""Subtitles: cue cutting limits and timing, glyphs (no tofu), safe area, burn-in, SRT/VTT round trip; the
cover.
"""

from __future__ import annotations

import importlib.util
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pysubs2
import pytest

from schemas.generate import SpokenLine, WordTiming
from tasks.assembly.cover import CoverError, make_cover
from tasks.assembly.subtitles import (
    SAFE_BOTTOM,
    SAFE_LEFT,
    SAFE_RIGHT,
    SubtitleCue,
    SubtitleError,
    SubtitleRenderer,
    cues_from_lines,
    write_srt,
    write_vtt,
)
from tasks.video import text as text_mod
from tasks.video.text import FontError, load_font, missing_glyphs

RATE = 48_000
LATIN_ONLY_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")

ZH = "你好，我今天来是想告诉你，我不干了！这份合同你自己签吧。还有，别再来找我。"
ZH_WORDS = [
    "你好",
    "我",
    "今天",
    "来",
    "是",
    "想",
    "告诉",
    "你",
    "我",
    "不",
    "干",
    "了",
    "这份",
    "合同",
    "你",
    "自己",
    "签",
    "吧",
    "还有",
    "别",
    "再",
    "来",
    "找",
    "我",
]
EN = (
    "Well, I never thought you'd actually come back here after everything that happened last summer. Did you?"
)


def spoken(
    text: str,
    words: list[str],
    *,
    start_sample: int = 0,
    step: float = 0.31,
    who: str = "林婉",
    lang: str = "zh",
) -> SpokenLine:
    timings = tuple(
        WordTiming(text=w, start=round(i * step, 3), end=round(i * step + step * 0.8, 3))
        for i, w in enumerate(words)
    )
    return SpokenLine(
        character=who,
        text=text,
        lang=lang,
        audio="",
        start_sample=start_sample,
        samples=int(len(words) * step * RATE),
        words=timings,
    )


def en_line(start_sample: int = 0) -> SpokenLine:
    return spoken(EN, [w.strip(",.?") for w in EN.split()], start_sample=start_sample, who="Alex", lang="en")


def test_no_tofu_for_chinese() -> None:
    font = load_font(None, 48)
    notdef = bytes(font.getmask("\U000f0000"))
    masks = [bytes(font.getmask(ch)) for ch in "你好"]
    assert all(m != notdef for m in masks) and masks[0] != masks[1]
    assert missing_glyphs(font, "你好，World！") == []


@pytest.mark.skipif(not LATIN_ONLY_FONT.is_file(), reason="needs a Latin-only font to show the check")
def test_a_font_without_chinese_is_refused_not_drawn_as_boxes() -> None:
    assert set(missing_glyphs(load_font(str(LATIN_ONLY_FONT), 40), "你好 ok")) == {"你", "好"}
    renderer = SubtitleRenderer(1080, 1920, font=str(LATIN_ONLY_FONT), cues=[SubtitleCue(0, 10, "你好")])
    with pytest.raises(FontError, match="no glyph"):
        renderer.burn(np.zeros((1920, 1080, 3), np.uint8), 0)


def test_missing_font_names_the_font_and_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    text_mod.clear_font_cache()
    try:
        with pytest.raises(FontError, match=r"NotoSansSC-Regular\.otf[\s\S]*pip install pylopdf-fonts-zh-cn"):
            SubtitleRenderer(1080, 1920)
    finally:
        monkeypatch.undo()
        text_mod.clear_font_cache()


@pytest.mark.parametrize(("line", "lang", "limit"), [(spoken(ZH, ZH_WORDS), "zh", 16), (en_line(), "en", 25)])
def test_cues_respect_line_limits_and_keep_all_words(line: SpokenLine, lang: str, limit: int) -> None:
    cues = cues_from_lines([line], lang=lang)
    assert len(cues) >= 3
    for cue in cues:
        assert 1 <= len(cue.lines) <= 2
        assert all(len(text) <= limit for text in cue.lines), cue.text
        assert cue.speaker == line.character
    shown = "".join(c.text for c in cues).replace("\n", "").replace(" ", "")
    for word in line.words:
        assert word.text.replace(" ", "") in shown
    if lang == "zh":
        assert not any(
            t.endswith(("，", "。")) for c in cues for t in c.lines
        )  # CJK style: no trailing comma/stop
    else:
        assert cues[-1].text == "Did you?"  # a sentence end closes a cue
        assert all(not t.startswith(" ") for c in cues for t in c.lines)


def test_cue_starts_within_one_frame_of_the_first_word_and_never_overlap() -> None:
    offset = 123_457  # the shot starts at an odd sample on the timeline
    lines = [spoken(ZH, ZH_WORDS, start_sample=7_001), en_line(start_sample=int(8.2 * RATE))]
    cues = cues_from_lines(lines, shot_offset_samples=offset, fps=30, lang="zh")
    starts: list[Fraction] = []
    for line in lines:
        for w in line.words:
            starts.append(Fraction(offset + line.start_sample, RATE) + Fraction(round(w.start * RATE), RATE))
    for cue in cues:
        t = cue.start(30)
        first_word = min((s for s in starts if s >= t), default=None)
        assert first_word is not None and first_word - t < Fraction(1, 30)
    for a, b in zip(cues, cues[1:], strict=False):
        assert a.end_frame <= b.start_frame
        assert a.end_frame > a.start_frame


def test_words_the_aligner_spelled_differently_are_neither_lost_nor_doubled() -> None:
    text = "“Well,” she said, “it's over.”"
    line = spoken(text, ["Well", "she", "sayed", "its", "over"], who="Ann", lang="en")
    cues = cues_from_lines([line], lang="en")
    shown = " ".join(c.text.replace("\n", " ") for c in cues)
    assert shown.replace(" ", "") == text.replace(" ", "")
    untimed = spoken("Completely different words", ["alpha", "beta"], who="Ann", lang="en")
    assert [c.text for c in cues_from_lines([untimed], lang="en")] == ["alpha beta"]


def test_slow_speech_is_split_so_text_does_not_run_ahead() -> None:
    text = "你好，我今天来是想告诉你，我不干了！"
    slow = spoken(text, [ch for ch in text if ch not in "，！"], step=0.33)
    cues = cues_from_lines([slow], lang="zh")
    assert [c.text for c in cues] == ["你好，我今天来是想告诉你", "我不干了！"]
    assert all(c.end(30) - c.start(30) <= 4.5 for c in cues)


def test_cue_validation() -> None:
    with pytest.raises(SubtitleError, match="end_frame"):
        SubtitleCue(10, 10, "x")
    with pytest.raises(SubtitleError, match="lines"):
        SubtitleCue(0, 10, "a\nb\nc")


def test_burn_stays_in_the_safe_area_and_only_while_the_cue_shows() -> None:
    cues = cues_from_lines([spoken(ZH, ZH_WORDS, start_sample=4_800)], lang="zh")
    renderer = SubtitleRenderer(1080, 1920, cues=cues)
    for j in range(len(cues)):
        s = renderer.sprite(j)
        assert s.x >= 1080 * SAFE_LEFT and s.x + s.width <= 1080 * SAFE_RIGHT
        assert s.y + s.height <= 1920 * SAFE_BOTTOM and s.y > 1920 * 0.5
    blank = np.full((1920, 1080, 3), 70, np.uint8)
    shown = renderer.burn(blank.copy(), cues[0].start_frame)
    changed = np.argwhere(np.any(shown != blank, axis=2))
    assert len(changed) > 2000
    assert changed[:, 0].max() < 1920 * SAFE_BOTTOM and changed[:, 1].max() < 1080 * SAFE_RIGHT
    assert changed[:, 1].min() >= 1080 * SAFE_LEFT
    assert np.array_equal(renderer.burn(blank.copy(), cues[0].start_frame - 1), blank)
    assert np.array_equal(renderer.burn(blank.copy(), cues[-1].end_frame), blank)
    white = shown[changed[:, 0], changed[:, 1]]
    assert (white.min(axis=1) > 240).sum() > 1000  # white glyph fill
    assert (white.max(axis=1) < 30).sum() > 500  # black outline / shadow


def test_a_too_wide_line_is_shrunk_into_the_safe_width() -> None:
    full = SubtitleCue(0, 30, "WWWWWWWWWWWWWWWWWWWWWWWWW\nMMMMMMMMMMMMMMMMMMMMMMMMM")  # 25 widest letters
    hand_made = SubtitleCue(0, 30, "这是一条手写的字幕，远远超过每行十六个汉字的限制，必须折行才能放进安全区")
    renderer = SubtitleRenderer(1080, 1920, cues=[full, hand_made])
    for j in range(2):
        sprite = renderer.sprite(j)
        assert sprite.x >= 1080 * SAFE_LEFT and sprite.x + sprite.width <= 1080 * SAFE_RIGHT
        assert sprite.y + sprite.height <= 1920 * SAFE_BOTTOM
    assert (
        renderer.sprite(1).height > 1.8 * renderer.size * 0.6
    )  # shrunk to the floor, then wrapped onto 2+ lines


def test_srt_and_vtt_round_trip_through_pysubs2(tmp_path: Path) -> None:
    cues = cues_from_lines([spoken(ZH, ZH_WORDS, start_sample=1_000)], lang="zh")
    for writer, name in ((write_srt, "ep.srt"), (write_vtt, "ep.vtt")):
        path = writer(cues, tmp_path / name, 30)
        subs = pysubs2.load(str(path), encoding="utf-8")
        assert len(subs) == len(cues)
        for event, cue in zip(subs, cues, strict=True):
            assert abs(event.start - float(cue.start(30)) * 1000) <= 1
            assert abs(event.end - float(cue.end(30)) * 1000) <= 1
            assert event.plaintext == cue.text
    assert (tmp_path / "ep.vtt").read_text(encoding="utf-8").startswith("WEBVTT")
    assert not list(tmp_path.glob(".*"))  # atomic: no temporary left behind


def test_cover_has_the_title_and_is_a_real_image(tmp_path: Path) -> None:
    frame = np.full((640, 360, 3), (40, 90, 160), np.uint8)
    path = make_cover(frame, "闪婚后，总裁他追妻火葬场", 3, tmp_path / "cover.jpg")
    image = cv2.imread(str(path))
    assert image.shape == (640, 360, 3)
    lower = image[int(640 * 0.55) :].astype(int)
    assert (lower.min(axis=2) > 230).sum() > 500  # white title type in the lower part
    with pytest.raises(CoverError, match="title"):
        make_cover(frame, "  ", None, tmp_path / "x.png")
    with pytest.raises(CoverError, match=r"\.jpg"):
        make_cover(frame, "t", None, tmp_path / "x.gif")
