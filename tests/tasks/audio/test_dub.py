"""Dubbing: translations from the script and sidecar files, fitting into the original slot, clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from schemas.plan import PlannedLine
from tasks.audio.casting import Voice
from tasks.audio.dub import (
    MAX_SPEEDUP,
    DubError,
    DubLine,
    dialogue_track,
    dub_lines,
    find_sidecar,
    line_translations,
    load_sidecar,
    split_cue,
    unfit,
)
from tasks.audio.speech import speak_line

RATE = 48_000
LINES = [
    PlannedLine(
        character="林星野", text="你去哪儿了？", line=12, lang="zh", translations={"en": "Where were you?"}
    ),
    PlannedLine(character="顾北辰", text="公司。", line=15, lang="zh"),
    PlannedLine(character="林星野", text="骗子。", line=18, lang="zh"),
]
CASTING = {
    "林星野": Voice("cmn+f3", language="zh", pitch=68, label="Lin"),
    "顾北辰": Voice("cmn+m3", language="zh", pitch=35, label="Gu"),
}


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_sidecar_by_line_number_wins_over_the_script(tmp_path: Path) -> None:
    script = _write(tmp_path, "ep01.md", "")
    side = _write(
        tmp_path,
        "ep01.en.yaml",
        "lang: en\nlines:\n  12: Where have you been?\n  15: At work.\n  18: Liar.\n",
    )
    assert find_sidecar(script, "en") == side
    assert line_translations(LINES, "en", sidecar=side) == ["Where have you been?", "At work.", "Liar."]


def test_sidecar_by_order_and_wrong_count(tmp_path: Path) -> None:
    ordered = _write(tmp_path, "ep01.fountain.en.yaml", "lines:\n  - Where were you?\n  - Work.\n  - Liar.\n")
    assert load_sidecar(ordered, "en", [12, 15, 18]) == {12: "Where were you?", 15: "Work.", 18: "Liar."}
    short = _write(tmp_path, "short.en.yaml", "lines:\n  - Where were you?\n  - Work.\n")
    with pytest.raises(DubError, match="2 translated lines for 3 dialogue lines") as err:
        load_sidecar(short, "en", [12, 15, 18])
    assert "short.en.yaml" in str(err.value)


def test_sidecar_errors(tmp_path: Path) -> None:
    wrong_line = _write(tmp_path, "a.en.yaml", "lines:\n  13: Hello\n")
    with pytest.raises(DubError, match="script line 13 is not a dialogue line") as err:
        load_sidecar(wrong_line, "en", [12, 15, 18])
    assert "12, 15" in str(err.value)
    wrong_lang = _write(tmp_path, "b.en.yaml", "lang: fr\nlines: []\n")
    with pytest.raises(DubError, match="says lang 'fr'"):
        load_sidecar(wrong_lang, "en", [])
    broken = _write(tmp_path, "c.en.yaml", "lines:\n  12: [unclosed\n")
    with pytest.raises(DubError, match="not valid YAML") as err:
        load_sidecar(broken, "en", [12])
    assert "c.en.yaml:" in str(err.value)
    both = tmp_path / "ep02.md"
    _write(tmp_path, "ep02.en.yaml", "lines: []\n")
    _write(tmp_path, "ep02.md.en.yaml", "lines: []\n")
    with pytest.raises(DubError, match="two translation files"):
        find_sidecar(both, "en")


def test_missing_translations_are_listed() -> None:
    with pytest.raises(DubError, match="2 of 3 dialogue lines have no 'en' translation") as err:
        line_translations(LINES, "en")
    assert "line 15" in str(err.value) and "line 18" in str(err.value)


def test_split_cue() -> None:
    assert split_cue("(coldly) At work.") == ("(coldly)", "At work.")
    assert split_cue("（冷笑）公司。") == ("（冷笑）", "公司。")
    assert split_cue("At work.") == (None, "At work.")


def test_dub_fits_translations_into_the_original_slots() -> None:
    natural = speak_line("I was at the office.", lang="en", voice=CASTING["顾北辰"], engine="espeak")
    slot = int(len(natural.samples) / 1.2)  # the original line was 20 % shorter than the translation
    placed = dub_lines(
        [
            DubLine("I was at the office.", 96_000, slot, "顾北辰"),
            ("Liar.", 300_000, 2 * RATE, "林星野", "(cold)"),
            (
                "I have been at the office all night long working on the quarterly report.",
                400_000,
                slot,
                "顾北辰",
            ),
        ],
        "en",
        CASTING,
        "espeak",
    )
    fitted, short, hopeless = placed
    assert fitted.fits and 1.0 < fitted.rate_scale <= MAX_SPEEDUP and fitted.voice == "en-us+m3"
    assert fitted.samples <= slot
    assert short.fits and short.rate_scale == 1.0 and short.voice == "en-us+f3"
    assert not hopeless.fits and hopeless.rate_scale == MAX_SPEEDUP and hopeless.overflow > 0
    report = unfit(placed)
    assert len(report) == 1 and "too long" in report[0] and "shorten" in report[0]
    track = dialogue_track(placed, 600_000)
    assert np.abs(track[:96_000]).max() == 0.0
    assert np.allclose(track[96_000 : 96_000 + fitted.samples], fitted.speech.samples)


def test_dub_errors() -> None:
    with pytest.raises(DubError, match="no voice cast for 'NOBODY'") as err:
        dub_lines([("Hi.", 0, RATE, "NOBODY")], "en", CASTING)
    assert "林星野" in str(err.value)
    with pytest.raises(DubError, match="bad slot"):
        dub_lines([("Hi.", 0, 0, "林星野")], "en", CASTING)
