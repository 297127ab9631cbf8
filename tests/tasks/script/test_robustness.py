"""Garbage in: a ScriptError or a Script, never another exception and never a long wait."""

from __future__ import annotations

import random
import time

import pytest

from tasks.script import ScriptError, lint, parse_text

PIECES = (
    "INT. HOUSE - DAY§MIA§(cold)§Hello.§[[§]]§/*§*/§# Act§= syn§===§> CUT <§CUT TO:§~la§@Mc§ ^§"
    "1-1 日 内 客厅§人物：甲§甲：（笑）好§△走§【音效：雷声】§第十集：x§**§《剧》§大纲：§人物小传：§"
    "甲（20）：女§  §1-2 乱码§```§> q§|t|§旁白：嗯§\ufeff§\r\n§\t§（§）§Title:§   indented"
).split("§")


@pytest.mark.parametrize("fmt", [None, "fountain", "zh"])
def test_random_scripts_parse_or_fail_cleanly(fmt: str | None) -> None:
    rng = random.Random(1234)
    started = time.perf_counter()
    for _ in range(150):
        text = "".join(
            rng.choice(PIECES) + rng.choice(["", "\n", " ", "\n\n"]) for _ in range(rng.randint(0, 40))
        )
        try:
            lint(parse_text(text, format=fmt))
        except ScriptError as err:
            assert str(err)  # a message a writer can read
    assert time.perf_counter() - started < 10


def test_pathological_brackets_are_fast() -> None:
    text = "INT. A - DAY\n\n" + "[[" + "a]" * 20000 + "\n\n" + "(" * 5000 + "\n\nBOB\n" + "(x" * 3000
    started = time.perf_counter()
    script = parse_text(text, format="fountain")
    assert script.scenes and time.perf_counter() - started < 3


def test_large_script_is_linear() -> None:
    block = "INT. A - DAY\n\nMIA\n(cold)\nHello there.\n\nThe door SLAMS.\n\n"
    started = time.perf_counter()
    script = parse_text(block * 2000)
    assert len(script.scenes) == 2000 and time.perf_counter() - started < 5
