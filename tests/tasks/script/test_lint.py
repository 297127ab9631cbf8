"""Lint: the problems that parse fine but would surprise a producer."""

from __future__ import annotations

from schemas.script import Element, ElementKind, Scene, Script
from tasks.script import lint, lint_file, parse_text


def messages(script: Script, severity: str | None = None) -> list[str]:
    return [i.message for i in lint(script) if severity is None or i.severity == severity]


def test_clean_script_has_no_issues() -> None:
    assert lint(parse_text("INT. A - DAY\n\nBOB\n(cold)\nHi.\n")) == []


def test_no_scenes_and_no_dialogue_is_an_error() -> None:
    issues = lint(parse_text("Just some action.\n"))
    assert [(i.severity, i.line) for i in issues] == [("error", 1)]
    assert "nothing to render" in issues[0].message


def test_declared_character_who_never_speaks() -> None:
    script = parse_text("人物小传：\n老陈（65）：店主\n\n1-1 日 内 店\n人物：老陈、小乐\n小乐：你好。\n")
    assert any("老陈 is declared but never speaks" in m for m in messages(script, "warning"))


def test_empty_scene_and_episode_number_mismatch() -> None:
    script = parse_text("第1集\n1-1 日 内 甲\n\n2-1 日 内 乙\n甲：好。\n")
    msgs = messages(script, "warning")
    assert any("has no content" in m for m in msgs)
    assert any("numbered for episode 2; this is episode 1" in m for m in msgs)


def test_speaker_not_in_scene_cast() -> None:
    script = parse_text("1-1 日 内 甲\n人物：甲\n甲：好。\n乙：不好。\n乙：真的。\n丙（OS）：喂？\n")
    msgs = messages(script)
    assert sum("乙 speaks in scene 1-1" in m for m in msgs) == 1  # once per scene, not per line
    assert not any("丙" in m for m in msgs)  # off-screen voices need not be listed


def test_dialogue_without_speaker_and_empty_cues_are_errors() -> None:
    scene = Scene(
        heading="INT. A - DAY",
        elements=(
            Element(kind=ElementKind.dialogue, text="Who said this?", line=3),
            Element(kind=ElementKind.dialogue, text=" ", character="BOB", line=4),
            Element(kind=ElementKind.caption, text="", line=5),
        ),
    )
    issues = lint(Script(scenes=(scene,)))
    assert [(i.severity, i.line) for i in issues] == [("error", 3), ("error", 4), ("error", 5)]


def test_very_long_line_and_unbalanced_brackets() -> None:
    long = " ".join(["word"] * 80)
    script = parse_text(f"INT. A - DAY\n\nBOB\n{long}\n\nAMY\nWell (beat so\n")
    msgs = messages(script, "warning")
    assert any("very long line for BOB" in m for m in msgs)
    assert any("unbalanced brackets" in m for m in msgs)


def test_orphan_parenthetical() -> None:
    script = parse_text("INT. A - DAY\n\nBOB\nHi.\n\n(beat)\n\nHe leaves.\n")
    assert any("looks like a parenthetical" in m for m in messages(script, "warning"))


def test_unclosed_note_marker() -> None:
    script = parse_text("INT. A - DAY\n\nShe [[waits\n\nthen goes.\n")
    assert any("never closes" in m for m in messages(script))


def test_lint_file_returns_script_and_issues(tmp_path) -> None:
    path = tmp_path / "e.fountain"
    path.write_text("INT. A - DAY\n\nBOB\nHi.\n\nEXT. B - NIGHT\n", encoding="utf-8")
    script, issues = lint_file(path)
    assert script.source == str(path)
    assert [(i.line, i.severity) for i in issues] == [(6, "warning")]
    assert str(issues[0]).startswith(f"{path}:6: warning:")


def test_speaker_with_no_words_stays_as_action_and_is_flagged() -> None:
    script = parse_text("1-1 日 内 客厅\n苏晓：\n△她走了。\n林星野：\n", format="zh")
    actions = [(e.text, e.line) for e in script.elements() if e.kind is ElementKind.action]
    assert actions == [("苏晓：", 2), ("她走了。", 3), ("林星野：", 4)]
    flagged = [i.line for i in lint(script) if "has no words" in i.message]
    assert flagged == [2, 4]


def test_misplaced_headers_are_not_speakers() -> None:
    script = parse_text("1-1 日 内 客厅\n甲：好。\n大纲：\n人物小传：\n", format="zh")
    assert script.speakers() == ["甲"]
