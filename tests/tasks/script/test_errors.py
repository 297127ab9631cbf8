"""Every way a script can be unreadable: a ScriptError naming file, line, column and the fix — never a
traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.errors import ReelwrightError
from tasks.script import ScriptError, lint_file, parse_script, parse_text


def err(fn, *args, **kwargs) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, ReelwrightError)
    return info.value


def test_missing_file(tmp_path: Path) -> None:
    e = err(parse_script, tmp_path / "nope.fountain")
    assert e.file.endswith("nope.fountain") and "no such file" in str(e)


@pytest.mark.parametrize("name", ["bad\x00name.fountain", "x" * 5000 + ".fountain"])
def test_unusable_path(name: str) -> None:
    assert err(parse_script, name).message.startswith(("not a usable path", "no such file"))


def test_directory(tmp_path: Path) -> None:
    assert "directory" in str(err(parse_script, tmp_path))


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "script.docx"
    path.write_bytes(b"PK\x03\x04\nabc\x00\x00")
    e = err(parse_script, path)
    assert "binary" in e.message and (e.line, e.column) == (2, 4)


def test_non_utf8_names_the_spot_and_suggests_resaving(tmp_path: Path) -> None:
    path = tmp_path / "ep.txt"
    path.write_bytes("1-1 日 内 客厅\n苏晓：你好\n".encode("gbk"))
    e = err(parse_script, path)
    assert e.line == 1 and e.column == 5  # the first byte of 日 in GBK
    assert "UTF-8" in e.message and "re-save" in e.hint and "GB18030" in e.hint


def test_latin1_file(tmp_path: Path) -> None:
    path = tmp_path / "ep.fountain"
    path.write_bytes(b"INT. CAFE - DAY\n\nJOS\xc9\nHola.\n")
    e = err(parse_script, path)
    assert (e.line, e.column) == (3, 4)


@pytest.mark.parametrize("text", ["", "   \n\n\t\n", "\ufeff"])
def test_empty_script(text: str) -> None:
    assert "empty" in err(parse_text, text).message


def test_only_a_title_page_or_notes() -> None:
    assert "no scenes, no dialogue and no action" in err(parse_text, "Title: X\nAuthor: Y\n").message
    assert "no scenes" in err(parse_text, "[[just a note]]\n\n/* and a cut */").message


def test_unterminated_boneyard_names_where_it_opened() -> None:
    e = err(parse_text, "INT. A - DAY\n\nGo.\n\n  /* cut from here\n\nBOB\nHi.\n", source="ep.fountain")
    assert (e.file, e.line, e.column) == ("ep.fountain", 5, 3)
    assert "*/" in e.hint and "line 5" in e.hint
    assert str(e).startswith("ep.fountain:5:3: ")


def test_malformed_zh_scene_head() -> None:
    e = err(parse_text, "第1集\n\n1-1 日 内 客厅\n△坐。\n\n1-2 新沪市\n△走。\n", source="ep.md")
    assert (e.line, e.column) == (6, 5)
    assert "1-2" in e.message and "日/夜" in str(e.expected) and "1-2 日 内" in e.hint


def test_zh_scene_head_without_a_place() -> None:
    e = err(parse_text, "1-1 日 内\n△坐。\n", format="zh")
    assert e.line == 1 and "no place" in e.message


def test_unknown_format() -> None:
    assert "fountain" in str(err(parse_text, "x", format="docx").expected)


def test_lint_file_raises_parse_errors(tmp_path: Path) -> None:
    path = tmp_path / "bad.fountain"
    path.write_text("/* never closed", encoding="utf-8")
    assert err(lint_file, path).line == 1
