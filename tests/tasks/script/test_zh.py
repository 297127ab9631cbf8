"""Chinese short-drama markup, feature by feature, from inline scripts."""

from __future__ import annotations

import pytest

from schemas.script import ElementKind, TimeOfDay
from tasks.script import parse_text

K = ElementKind

HEADER = """# 项目说明（会被忽略）

> 这是一段引用，不是剧本。

```
《示例》 代码块里的内容也不是剧本
1-1 日 内 假场景
```

**《红包》**

**大纲：**
一个外卖员在除夕夜送错了一个红包。

**人物小传：**
陈默（26）：外卖骑手，沉默寡言
林母（52）：林家母亲，刀子嘴豆腐心
周总（女，40岁）：公司老板
小乐：林家的孩子

---

**第二十一集：错送**

"""


def parse(body: str, header: str = HEADER):
    return parse_text(header + body, source="t.md")


def test_header_block() -> None:
    script = parse("1-1 日 内 客厅\n人物：陈默\n\n陈默：到了。\n")
    assert script.format == "zh" and script.language == "zh"
    assert (script.title, script.episode, script.episode_title) == ("红包", 21, "错送")
    assert script.synopsis == "一个外卖员在除夕夜送错了一个红包。"
    cast = {c.name: (c.age, c.gender, c.description) for c in script.characters}
    assert cast["陈默"] == (26, None, "外卖骑手，沉默寡言")
    assert cast["林母"] == (52, "female", "林家母亲，刀子嘴豆腐心")
    assert cast["周总"] == (40, "female", "公司老板")
    assert cast["小乐"] == (None, None, "林家的孩子")
    assert not script.preamble  # markdown around the script is ignored


@pytest.mark.parametrize(
    ("head", "want"),
    [
        ("1-1 日 内 客厅", ("1-1", TimeOfDay.day, "INT", "客厅")),
        ("**1-2 夜 外 天台**", ("1-2", TimeOfDay.night, "EXT", "天台")),
        ("## 2-3 晨 内 医院走廊", ("2-3", TimeOfDay.dawn, "INT", "医院走廊")),
        ("3-1 黄昏 外 江边", ("3-1", TimeOfDay.dusk, "EXT", "江边")),
        ("3-2 夜/内 出租屋", ("3-2", TimeOfDay.night, "INT", "出租屋")),
        ("3-3 外 日 小区门口", ("3-3", TimeOfDay.day, "EXT", "小区门口")),
        ("3-4日内书房", ("3-4", TimeOfDay.day, "INT", "书房")),
        ("3-5 傍晚 内外 车里", ("3-5", TimeOfDay.dusk, "INT/EXT", "车里")),
        ("第5场 夜 外 码头", ("5", TimeOfDay.night, "EXT", "码头")),
        ("场景7：客厅 日 内景", ("7", TimeOfDay.day, "INT", "客厅")),
        ("4-2、夜、外景、天台", ("4-2", TimeOfDay.night, "EXT", "天台")),
        ("5-1. 日. 内. 咖啡厅", ("5-1", TimeOfDay.day, "INT", "咖啡厅")),
    ],
)
def test_scene_heads(head: str, want: tuple) -> None:
    scene = parse_text(f"{head}\n△有人。\n").scenes[0]
    assert (scene.number, scene.time_of_day, scene.interior, scene.location) == want


def test_cast_on_the_same_line_or_the_next() -> None:
    script = parse_text("1-1 日 内 客厅 人物：甲、乙\n△坐。\n\n1-2 夜 外 街\n人物：丙，丁（背影）\n△走。\n")
    assert script.scenes[0].declared == ("甲", "乙") and script.scenes[0].location == "客厅"
    assert script.scenes[1].declared == ("丙", "丁")


def test_dialogue_forms() -> None:
    script = parse(
        "1-1 日 内 客厅\n人物：陈默、林母\n\n"
        "陈默：（低声）您的外卖。\n"
        "林母:(冷笑)送错了。\n"
        "陈默：我……（颤抖）我再看看。\n"
        "林母（愤怒）：滚出去！\n"
        "陈默OS：不能走。\n"
        "林母（OS）：还不走？\n"
        "陈默VO：她认出我了。\n"
        "旁白：那一年，他二十六岁。\n"
        "陈默：\n这是给您的红包。\n"
        "**林母**：拿走。\n"
    )
    got = [(e.kind, e.text, e.character, e.extension) for e in script.elements()[1:]]
    assert got == [
        (K.character, "陈默", "陈默", None),
        (K.parenthetical, "（低声）", "陈默", None),
        (K.dialogue, "您的外卖。", "陈默", None),
        (K.character, "林母", "林母", None),
        (K.parenthetical, "(冷笑)", "林母", None),
        (K.dialogue, "送错了。", "林母", None),
        (K.character, "陈默", "陈默", None),
        (K.dialogue, "我……", "陈默", None),
        (K.parenthetical, "（颤抖）", "陈默", None),
        (K.dialogue, "我再看看。", "陈默", None),
        (K.character, "林母", "林母", None),
        (K.parenthetical, "（愤怒）", "林母", None),
        (K.dialogue, "滚出去！", "林母", None),
        (K.character, "陈默", "陈默", "OS"),
        (K.dialogue, "不能走。", "陈默", "OS"),
        (K.character, "林母", "林母", "OS"),
        (K.dialogue, "还不走？", "林母", "OS"),
        (K.character, "陈默", "陈默", "VO"),
        (K.dialogue, "她认出我了。", "陈默", "VO"),
        (K.character, "旁白", "旁白", None),
        (K.dialogue, "那一年，他二十六岁。", "旁白", None),
        (K.character, "陈默", "陈默", None),
        (K.dialogue, "这是给您的红包。", "陈默", None),
        (K.character, "林母", "林母", None),
        (K.dialogue, "拿走。", "林母", None),
    ]
    assert {e.lang for e in script.elements() if e.kind is K.dialogue} == {"zh"}


def test_action_captions_and_sound_cues() -> None:
    script = parse_text(
        "1-1 夜 内 出租屋\n"
        "△门外传来敲门声。【音效：敲门声】\n"
        "屋里很暗。\n"
        "【字幕：除夕 23:00】\n"
        "【音效：手机震动】\n"
        "【转场：黑屏】\n"
        "【闪回】\n"
        "他说：你来了\n"
    )
    got = [(e.kind, e.text) for e in script.scenes[0].elements]
    assert got == [
        (K.action, "门外传来敲门声。"),
        (K.sfx, "敲门声"),
        (K.action, "屋里很暗。"),
        (K.caption, "除夕 23:00"),
        (K.sfx, "手机震动"),
        (K.transition, "黑屏"),
        (K.note, "闪回"),
        (K.action, "他说：你来了"),
    ]


def test_times_and_links_are_not_speakers() -> None:
    script = parse_text("1-1 日 内 客厅\n23:00 门开了。\nhttps://example.com 是地址。\nTony：Hi.\n")
    assert script.speakers() == ["Tony"]
    assert [e.text for e in script.elements() if e.kind is K.action] == [
        "23:00 门开了。",
        "https://example.com 是地址。",
    ]


def test_labels_are_not_speakers() -> None:
    got = [
        (e.kind, e.text)
        for e in parse_text("1-1 日 外 街\n画面：城市的清晨。\n字幕：三年后\n").scenes[0].elements
    ]
    assert got == [(K.action, "画面：城市的清晨。"), (K.caption, "三年后")]


def test_second_episode_in_one_file_becomes_a_section() -> None:
    script = parse_text("第1集：开端\n1-1 日 内 甲\n△一。\n第2集：发展\n2-1 日 内 乙\n△二。\n")
    assert script.episode == 1
    assert (K.section, "第2集：发展") in [(e.kind, e.text) for e in script.elements()]


def test_arabic_and_chinese_episode_numbers() -> None:
    assert parse_text("第12集\n1-1 日 内 甲\n△一。").episode == 12
    assert parse_text("第十集 标题\n1-1 日 内 甲\n△一。").episode_title == "标题"


def test_dialogue_lines_carry_their_cues() -> None:
    script = parse_text("1-1 日 内 客厅\n苏晓：（低声）走吧。我……（停顿）我等你。\n林母OS：嗯。\n")
    got = [(d.character, d.text, d.parenthetical, d.extension) for d in script.dialogue_lines()]
    assert got == [
        ("苏晓", "走吧。我……", "低声", None),
        ("苏晓", "我等你。", "停顿", None),
        ("林母", "嗯。", None, "OS"),
    ]
