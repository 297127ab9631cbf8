"""Script parsing: Fountain, Chinese short-drama markup and YAML/JSON, all into one ``schemas.script.Script``.

parse_script("examples/the_last_delivery.fountain")   # format from the extension, else sniffed
parse_text("1-1 日 内 客厅\\n苏晓：你来了。")            # the same from a string
lint(script) / lint_file(path)                        # issues that are not parse errors (reelwright validate)
sound_cues("The door SLAMS.", ["MIA"])                # ["SLAMS"]
"""

from __future__ import annotations

from pathlib import Path

from schemas.script import Script
from tasks.script.detect import FORMATS, format_of, sniff
from tasks.script.errors import ScriptError
from tasks.script.fountain import parse_fountain
from tasks.script.lint import LintIssue, lint
from tasks.script.sound import sound_cues
from tasks.script.source import normalize, read_text
from tasks.script.structured import parse_structured
from tasks.script.zh import parse_zh

__all__ = [
    "LintIssue",
    "Script",
    "ScriptError",
    "lint",
    "lint_file",
    "parse_script",
    "parse_text",
    "sound_cues",
]


def parse_text(text: str, *, source: str = "<string>", format: str | None = None) -> Script:  # noqa: A002
    """The Script in ``text``; ``format`` is fountain / zh / yaml / json, or None to sniff fountain vs zh."""
    text = normalize(text)
    if format is not None and format not in FORMATS:
        raise ScriptError(
            f"unknown script format {format!r}",
            file=source,
            expected=" / ".join(FORMATS),
            hint="leave the format out to detect it from the file",
        )
    if not text.strip():
        raise ScriptError(
            "the script is empty",
            file=source,
            line=1,
            column=1,
            expected="Fountain, Chinese short-drama markup, YAML or JSON text",
        )
    # A path-like source decides by its extension (callers that read the file themselves pass it as source).
    fmt = format or (format_of(source, text) if not source.startswith("<") else sniff(text))
    if fmt in ("yaml", "json"):
        return parse_structured(text, source=source, fmt=fmt)
    if fmt == "zh":
        return parse_zh(text, source=source)
    return parse_fountain(text, source=source)


def parse_script(path: str | Path, *, format: str | None = None) -> Script:  # noqa: A002
    """The Script in the file at ``path``: .yaml/.yml/.json structured, .fountain Fountain, else sniffed."""
    text = read_text(path)
    return parse_text(text, source=str(path), format=format or format_of(path, text))


def lint_file(path: str | Path) -> tuple[Script, list[LintIssue]]:
    """What ``reelwright validate`` reports: the parsed script and its lint issues (parse errors raise)."""
    script = parse_script(path)
    return script, lint(script)
