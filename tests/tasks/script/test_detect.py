"""Format detection: extension for structured files, sniffing otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasks.script import parse_script, parse_text
from tasks.script.detect import format_of, sniff


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("INT. A - DAY\n\nBOB\nHi.", "fountain"),
        ("Title：电影\nAuthor：匿名\n\nINT。 医院-天\n\n约翰\n这是什么地方？", "fountain"),
        ("第一集：开端\n", "zh"),
        ("场景3：客厅 日 内\n", "zh"),
        ("**1-1 日 内 新沪市**\n", "zh"),
        ("△他走进来。\n", "zh"),
        ("【字幕：三年后】\n", "zh"),
        ("苏晓：你好。\n林星野：嗯。\n苏晓：走吧。\n", "zh"),
        ("苏晓：你好。\n", "fountain"),
    ],
)
def test_sniff(text: str, want: str) -> None:
    assert sniff(text) == want


def test_extension_wins_for_structured_and_fountain() -> None:
    assert format_of("a.yml", "1-1 日 内 x") == "yaml"
    assert format_of("a.JSON", "") == "json"
    assert format_of("a.fountain", "△x") == "fountain"
    assert format_of("a.md", "△x") == "zh"
    assert format_of(None, "INT. A - DAY") == "fountain"


def test_parse_text_uses_the_extension_of_its_source() -> None:
    text = "title: X\nscenes:\n  - heading: INT. A - DAY\n"
    assert parse_text(text, source="ep.yaml").format == "yaml"
    assert parse_text("INT. A - DAY\n\nGo.", source="<stdin>").format == "fountain"


def test_parse_script_sniffs_txt(tmp_path: Path) -> None:
    path = tmp_path / "ep.txt"
    path.write_text("1-1 日 内 客厅\n苏晓：你好。\n", encoding="utf-8")
    assert parse_script(path).format == "zh"
    assert parse_script(path, format="fountain").format == "fountain"
