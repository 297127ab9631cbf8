"""Declared characters: ages and genders read when written, guessed from description words, never invented."""

from __future__ import annotations

import pytest

from tasks.script.cast import guess_gender, parse_entry


@pytest.mark.parametrize(
    ("line", "want"),
    [
        ("林星野（28）：创业失败者，自卑敏感", ("林星野", 28, None)),
        ("林母（52）：林家母亲，刀子嘴豆腐心", ("林母", 52, "female")),
        ("周总（女，40岁）：公司老板", ("周总", 40, "female")),
        ("阿强(男)：保镖", ("阿强", None, "male")),
        ("MAYA (28, female): a courier", ("MAYA", 28, "female")),
        ("Leo (40s): her dispatcher, a tired man", ("LEO", 40, "male")),
    ],
)
def test_parse_entry(line: str, want: tuple) -> None:
    c = parse_entry(line, upper=True)
    assert c is not None and (c.name, c.age, c.gender) == want


@pytest.mark.parametrize("line", ["", "just prose without a colon", "△林星野：动作"])
def test_not_an_entry(line: str) -> None:
    assert parse_entry(line) is None


def test_guess_gender_takes_the_earliest_word() -> None:
    assert guess_gender("女婿，入赘三年") == "male"  # 女婿 is a son-in-law, not 女
    assert guess_gender("夫人") == "female"
    assert guess_gender("a widow who raised her brother's son") == "female"
    assert guess_gender("顶尖机械工程师，理性务实") is None
