"""YAML and JSON scripts: the Script schema, with validation errors pointing at the field and its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.script import ElementKind, TimeOfDay
from tasks.script import ScriptError, parse_script, parse_text

YAML = """\
title: Hongbao
language: zh
episode: 1
characters:
  - {name: 陈默, age: 26}
scenes:
  - heading: 1-1 夜 内 出租屋
    location: 出租屋
    time_of_day: night
    elements:
      - {kind: action, text: 门开了。}
      - {kind: dialogue, character: 陈默, text: 你好。, lang: zh}
"""


def test_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "ep.yaml"
    path.write_text(YAML, encoding="utf-8")
    script = parse_script(path)
    assert (script.title, script.format, script.source) == ("Hongbao", "yaml", str(path))
    assert script.scenes[0].time_of_day is TimeOfDay.night
    assert [e.kind for e in script.scenes[0].elements] == [ElementKind.action, ElementKind.dialogue]


def test_json_file_round_trip(tmp_path: Path) -> None:
    original = parse_text("INT. A - DAY\n\nBOB\n(cold)\nHi.\n")
    path = tmp_path / "ep.json"
    path.write_text(original.model_dump_json(indent=2), encoding="utf-8")
    again = parse_script(path)
    assert again.scenes == original.scenes and again.title == original.title
    assert (again.format, again.source) == ("json", str(path))


def test_yaml_validation_error_names_field_and_line() -> None:
    bad = YAML.replace("{kind: action,", "{kind: explosion,")
    with pytest.raises(ScriptError) as info:
        parse_text(bad, source="ep.yaml", format="yaml")
    e = info.value
    assert e.field == "scenes.0.elements.0.kind" and e.line == 11
    assert "ep.yaml:11:" in str(e) and "explosion" not in e.hint


def test_yaml_unknown_field() -> None:
    with pytest.raises(ScriptError) as info:
        parse_text("title: X\ntitel: Y\n", format="yaml")
    assert info.value.field == "titel" and info.value.line == 2


def test_yaml_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ScriptError) as info:
        parse_text("title: X\nscenes:\n  - heading: a\n   bad: [\n", source="s.yml", format="yaml")
    assert info.value.line is not None and info.value.line >= 3 and "invalid YAML" in info.value.message


def test_json_syntax_error_has_line_and_column() -> None:
    with pytest.raises(ScriptError) as info:
        parse_text('{\n  "title": "X",\n  "scenes": [,]\n}', format="json")
    assert (info.value.line, info.value.column) == (3, 14)


def test_json_must_be_an_object() -> None:
    with pytest.raises(ScriptError) as info:
        parse_text(json.dumps(["a"]), format="json")
    assert "not a mapping" in info.value.message


def test_json_wrong_type_is_located() -> None:
    text = '{\n  "title": "X",\n  "episode": "one"\n}'
    with pytest.raises(ScriptError) as info:
        parse_text(text, format="json")
    assert info.value.field == "episode" and info.value.line == 3
