"""The demo episodes in examples/: they parse, lint clean and carry every feature they exist to show."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas.script import ElementKind, Script
from tasks.script import lint_file, sound_cues

K = ElementKind
EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.fixture(scope="module")
def delivery() -> Script:
    script, issues = lint_file(EXAMPLES / "the_last_delivery.fountain")
    assert issues == []
    return script


@pytest.fixture(scope="module")
def hongbao() -> Script:
    script, issues = lint_file(EXAMPLES / "hongbao.md")
    assert issues == []
    return script


def test_the_last_delivery(delivery: Script) -> None:
    assert (delivery.format, delivery.title, delivery.episode) == ("fountain", "The Last Delivery", 1)
    assert 4 <= len(delivery.scenes) <= 6 and len(delivery.speakers()) >= 3
    cast = {c.name: (c.age, c.gender) for c in delivery.characters}
    assert cast == {
        "MAYA": (28, "female"),
        "LEO": (40, "male"),
        "VICTOR": (55, "male"),
        "DANNY": (24, "male"),
    }
    parentheticals = {e.text for e in delivery.elements() if e.kind is K.parenthetical}
    assert {"(cold)", "(whispering)", "(angry)", "(crying)"} <= parentheticals
    cues = [
        c for e in delivery.elements() if e.kind is K.action for c in sound_cues(e.text, delivery.speakers())
    ]
    assert {"KNOCKS", "SHATTERS", "BUZZES", "RUMBLES", "ECHO", "SLAP"} <= set(cues)
    kinds = {e.kind for e in delivery.elements()}
    assert {K.note, K.transition, K.centered} <= kinds
    assert any(e.dual for e in delivery.elements() if e.kind is K.dialogue)
    words = sum(len(e.text.split()) for e in delivery.elements() if e.kind is K.dialogue)
    assert 150 <= words <= 250
    assert delivery.elements()[-1].text == "TO BE CONTINUED"  # the cliffhanger card


def test_hongbao(hongbao: Script) -> None:
    assert (hongbao.format, hongbao.title, hongbao.episode, hongbao.language) == ("zh", "红包", 1, "zh")
    assert all(c.age for c in hongbao.characters) and len(hongbao.characters) == 4
    assert 4 <= len(hongbao.scenes) <= 6 and len(hongbao.speakers()) >= 3
    assert {s.time_of_day.value for s in hongbao.scenes} == {"night"} and {
        s.interior for s in hongbao.scenes
    } == {"INT", "EXT"}
    parentheticals = {e.text for e in hongbao.elements() if e.kind is K.parenthetical}
    assert {"（冷笑）", "（愤怒）", "（颤抖）", "（哭喊）", "（低声）"} <= parentheticals
    sfx = {e.text for e in hongbao.elements() if e.kind is K.sfx}
    assert {"敲门声", "玻璃碎裂", "手机震动", "雷声", "耳光"} <= sfx
    assert [e.text for e in hongbao.elements() if e.kind is K.caption][-1] == "未完待续"
    chars = sum(
        len(re.findall(r"[\u4e00-\u9fff]", e.text)) for e in hongbao.elements() if e.kind is K.dialogue
    )
    assert 300 <= chars <= 500
