"""The other real-world scripts: nyousefi's element files, afterwriting's screenplays and the 《哥哥》
episode.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from schemas.script import ElementKind, Script, TimeOfDay
from tasks.script import lint, parse_script
from tests.conftest import SHARED_FIXTURES, shared_fixture

K = ElementKind
NYOUSEFI = sorted((SHARED_FIXTURES / "fountain" / "nyousefi").glob("*.fountain"))
AFTERWRITING = sorted((SHARED_FIXTURES / "fountain" / "afterwriting").glob("*.fountain"))


def kinds(script: Script) -> Counter:
    return Counter(el.kind for el in script.elements())


@pytest.mark.parametrize("path", NYOUSEFI + AFTERWRITING, ids=lambda p: p.name)
def test_every_fixture_parses(path: Path, shared_fixtures: Path) -> None:
    script = parse_script(path)
    assert script.format == "fountain"
    assert script.elements(), "no elements"
    lint(script)  # never raises


def nyousefi(name: str) -> Script:
    return parse_script(shared_fixture("fountain", "nyousefi", f"{name}.fountain"))


def test_nyousefi_dual_dialogue() -> None:
    els = [e for e in nyousefi("DualDialogue").elements() if e.kind is K.dialogue]
    assert [(e.character, e.text, e.dual) for e in els] == [("ADAM", "Yes.", False), ("EVE", "No.", True)]


def test_nyousefi_boneyard_is_not_action() -> None:
    script = nyousefi("Boneyard")
    actions = [e.text for e in script.elements() if e.kind is K.action]
    assert actions == ["A line of action.", "This is an boneyard."]
    bones = [e.text for e in script.elements() if e.kind is K.boneyard]
    assert bones == ["This is an inline Boneyard.", "This is a\nmulti-line \nBoneyard.", "internal"]
    assert not any("Boneyard" in a for a in actions)


def test_nyousefi_dialogue() -> None:
    script = nyousefi("Dialogue")
    c = kinds(script)
    assert c[K.character] == 12 and c[K.parenthetical] == 4
    cues = [(e.text, e.extension) for e in script.elements() if e.kind is K.character]
    assert ("EVE", "O.S.") in cues and ("EVE", "cont'd") in cues and ("R2D2", None) in cues
    actions = [e.text for e in script.elements() if e.kind is K.action]
    assert actions == ["23 (O.S.)\nCharacter name must include a letter"]  # a name needs a letter
    long = next(e for e in script.elements() if e.kind is K.dialogue and e.text.startswith("That was really"))
    assert long.text.endswith("block\n\nfor absolutely no good\nreason.")  # two-space line continues dialogue
    indented = [e for e in script.elements() if e.line >= 48]
    assert [(e.kind, e.text) for e in indented] == [
        (K.character, "EVE"),
        (K.parenthetical, "(feeling cocky)"),
        (K.dialogue, "Well, then I'll just indent!"),
    ]


def test_nyousefi_forced_elements() -> None:
    els = nyousefi("ForcedElements").elements()
    assert (els[0].kind, els[0].text, els[0].forced) == (K.action, "BANG\nBANG\nBANG", True)
    assert (els[1].kind, els[1].text, els[1].forced) == (K.character, "McDUCK", True)
    lyrics = [(e.text, e.character) for e in els if e.kind is K.lyrics]
    assert lyrics == [("These are the songs", "SINGER"), ("That I sing.", "SINGER")]


def test_nyousefi_scene_headers() -> None:
    script = nyousefi("SceneHeaders")
    assert len(script.scenes) == 18
    interiors = Counter(s.interior for s in script.scenes)
    assert interiors["INT/EXT"] == 5 and interiors[None] == 1  # .KITCHEN is forced, no prefix
    assert all(s.time_of_day is TimeOfDay.day for s in script.scenes if s.interior)
    actions = [e.text for e in script.elements() if e.kind is K.action]
    assert actions == ["... not a scene header.", "ESTABLISHING"]


def test_nyousefi_scene_numbers() -> None:
    numbers = [s.number for s in nyousefi("SceneNumbers").scenes]
    assert numbers == ["1", "1A", "1a", "A1", "I-1-A", "1.", "110A"]


def test_nyousefi_transitions_and_centered() -> None:
    tr = [e.text for e in nyousefi("Transitions").elements() if e.kind is K.transition]
    assert tr == ["CUT TO:", "SMASH CUT TO:", "FADE TO BLACK.", "NOT A STANDARD TRANSITION:", "GO TO:", "TO:"]
    els = nyousefi("CenteredText").elements()
    assert [(e.kind, e.text) for e in els] == [
        (K.centered, "Centered"),
        (K.transition, "NOT CENTERED"),
        (K.centered, "No space"),
        (K.centered, "Lots of Space"),
    ]


def test_nyousefi_sections_synopses_page_breaks_notes() -> None:
    sections = [(e.text, e.depth) for e in nyousefi("SectionHeaders").elements()]
    assert sections == [
        ("Act One", 1),
        ("Act Two", 1),
        ("ACT THREE", 1),
        ("ACT FOUR", 1),
        ("5", 1),
        ("Level 2", 2),
        ("Level 3", 3),
    ]
    syn = [e.text for e in nyousefi("Synopses").elements() if e.kind is K.synopsis]
    assert syn == ["This is the first act.", "This is another act.", "THE FINAL ACT"]
    assert kinds(nyousefi("PageBreaks"))[K.page_break] == 2
    notes = [e.text for e in nyousefi("Notes").elements() if e.kind is K.note]
    assert notes == ["A note.", "This line spans\nmultiple lines.", "internal"]


def test_nyousefi_simple_title_page_and_mix() -> None:
    script = nyousefi("Simple")
    assert script.title == "A Simple Script"
    assert dict(script.title_page)["Draft date"] == "2/1/2012"
    assert [s.heading for s in script.scenes] == [
        "INT. OFFICE - MORNING",
        "ext. house - day",
        "FORCED SCENE HEADING",
    ]
    assert script.scenes[0].time_of_day is TimeOfDay.dawn
    man = [e for e in script.elements() if e.character == "MAN"]
    assert {e.extension for e in man} == {"V.O."}
    assert [e.text for e in script.elements() if e.kind is K.action][
        -1
    ] == "CUT TO:"  # trailing spaces: not a transition


def test_afterwriting_chinese_fountain() -> None:
    script = parse_script(shared_fixture("fountain", "afterwriting", "test_sc.fountain"))
    assert script.format == "fountain" and script.title == "电影" and script.language == "zh"
    assert script.scenes[0].time_of_day is TimeOfDay.day and script.scenes[0].location == "医院"
    d = [e for e in script.elements() if e.kind in (K.parenthetical, K.dialogue)]
    assert [(e.kind, e.text, e.character) for e in d] == [
        (K.parenthetical, "（丢失）", "约翰"),
        (K.dialogue, "这是什么地方？", "约翰"),
    ]
    assert d[1].lang == "zh"


def test_afterwriting_japanese_and_cyrillic() -> None:
    jp = parse_script(shared_fixture("fountain", "afterwriting", "test_jp.fountain"))
    assert jp.language == "ja" and jp.speakers() == ["ジョン"]
    ru = parse_script(shared_fixture("fountain", "afterwriting", "test_cyrillic.fountain"))
    assert ru.language == "ru" and len(ru.scenes) == 2 and ru.scenes[0].interior == "INT"
    assert ru.speakers() == ["МАШA"]


def test_afterwriting_full_screenplays() -> None:
    memory = parse_script(shared_fixture("fountain", "afterwriting", "my_living_memory.fountain"))
    assert memory.title == "My Living Memory" and len(memory.scenes) >= 9
    assert {"JOE", "KATE", "MATTHEW"} <= set(memory.speakers())
    printing = parse_script(shared_fixture("fountain", "afterwriting", "printing_trouble.fountain"))
    c = kinds(printing)
    assert len(printing.scenes) >= 20 and c[K.dialogue] >= 40 and c[K.action] >= 40
    assert printing.scenes[0].time_of_day is TimeOfDay.night and printing.scenes[0].interior == "EXT"
    mike = [e for e in printing.elements() if e.kind is K.character and e.text == "MIKE"]
    assert mike and all(e.extension in (None, "CONT'D") for e in mike)


# -- 《哥哥》 ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gege() -> Script:
    return parse_script(shared_fixture("zh", "gege_ep1.md"))


def test_gege_header(gege: Script) -> None:
    assert gege.format == "zh" and gege.language == "zh"
    assert (gege.title, gege.episode, gege.episode_title) == ("哥哥", 1, "陨落与归途")
    assert gege.synopsis.startswith("一个因童年自卑而逃离小镇的青年")
    aged = {c.name: c.age for c in gege.characters if c.age is not None}
    assert aged == {"林星野": 28, "陆天擎": 45, "苏晓": 27, "老陈": 65}
    assert next(c for c in gege.characters if c.name == "陆天擎").description.startswith("天擎能源集团CEO")


def test_gege_scenes(gege: Script) -> None:
    heads = [(s.number, s.time_of_day, s.interior, s.location) for s in gege.scenes]
    assert heads == [
        ("1-1", TimeOfDay.day, "INT", "新沪市"),
        ("1-2", TimeOfDay.day, "INT", "新沪市"),
        ("1-3", TimeOfDay.night, "EXT", "新沪市"),
        ("1-4", TimeOfDay.night, "INT", "高速列车车厢"),
    ]
    assert gege.scenes[0].declared == ("林星野", "苏晓")
    assert gege.scenes[1].declared == ("林星野", "陆天擎", "苏晓")  # 苏晓（旁观）: the note is dropped
    assert not gege.preamble  # headings, the quote, the code fence and the table are not script


def test_gege_dialogue(gege: Script) -> None:
    els = gege.scenes[0].elements
    first = [(e.kind, e.text) for e in els if e.line == 50]
    assert first == [
        (K.character, "苏晓"),
        (K.parenthetical, "（站在门口）"),
        (K.dialogue, "工商的人下午来封门。"),
    ]
    inline = [(e.kind, e.text) for e in els if e.line == 80]
    assert inline == [
        (K.character, "苏晓"),
        (K.dialogue, "陆天擎不是要羞辱你。"),
        (K.parenthetical, "（停顿）"),
        (K.dialogue, "他有新项目想让你看。但条件……"),
    ]
    speakers = set(gege.speakers())
    assert {"林星野", "苏晓", "陆天擎", "堂弟", "广播"} == speakers
    assert all(e.lang == "zh" for e in gege.elements() if e.kind is K.dialogue)
    cousin = next(e for e in gege.elements() if e.kind is K.dialogue and e.character == "堂弟")
    assert cousin.extension == "OS"  # （电话音）: heard over the phone


def test_gege_prose_and_captions(gege: Script) -> None:
    prose = next(e for e in gege.scenes[0].elements if e.line == 52)
    assert prose.kind is K.action and prose.text.startswith("林星野没回头")
    captions = [e.text for e in gege.elements() if e.kind is K.caption]
    assert captions == ["同日 夜", "新沪市 · 星驰能源 破产清算日", "三小时后", "青屿镇 · 300公里外"]
    c = kinds(gege)
    assert c[K.action] == 50 + 6  # 50 △ lines and 6 lines of plain prose
    assert c[K.dialogue] > 40 and c[K.parenthetical] > 15


def test_gege_lint(gege: Script) -> None:
    issues = lint(gege)
    assert not [i for i in issues if i.severity == "error"]
    messages = " ".join(i.message for i in issues)
    assert "老陈 is declared but never speaks" in messages


@pytest.mark.parametrize("name", ["fdx_note", "fdx_header_note", "fdx_synopsis"])
def test_afterwriting_fdx_cases(name: str) -> None:
    """Final Draft's view of the same file: paragraph types and texts, and the notes/synopses on them."""
    import xml.etree.ElementTree as ET

    fdx = ET.parse(shared_fixture("fountain", "afterwriting", f"{name}.fdx")).getroot()
    kinds = {"Action": K.action, "Scene Heading": K.scene_heading}
    want, attached = [], []
    for para in fdx.find("Content").findall("Paragraph"):
        own = para.findall("Text")
        want.append((kinds[para.get("Type")], "".join(t.text or "" for t in own).strip()))
        attached += [t.text.strip() for t in para.iter("Text") if t not in own]  # ScriptNote / Summary
    els = parse_script(shared_fixture("fountain", "afterwriting", f"{name}.fountain")).elements()
    assert [(e.kind, e.text) for e in els if e.kind in (K.action, K.scene_heading)] == want
    assert [e.text for e in els if e.kind in (K.note, K.synopsis)] == attached
