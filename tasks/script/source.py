"""Reading a script file into text: UTF-8 (with or without BOM), any line ending, never binary.

Decoding problems are reported with the line and column of the first bad byte, because "UnicodeDecodeError at
position 18734" does not tell a writer where to look.
"""

from __future__ import annotations

from pathlib import Path

from tasks.script.errors import ScriptError

BOM = "\ufeff"


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    line = before.count(b"\n") + 1
    start = before.rfind(b"\n") + 1
    column = len(before[start:].decode("utf-8", errors="replace")) + 1
    return line, column


def decode(data: bytes, *, source: str = "<string>") -> str:
    """UTF-8 text of ``data`` with the BOM removed and line endings normalised to ``\\n``."""
    nul = data.find(b"\x00")
    if nul >= 0:
        line, column = _line_col(data, nul)
        raise ScriptError(
            "this is a binary file, not a plain-text script (it contains a NUL byte)",
            file=source,
            line=line,
            column=column,
            expected="a plain-text .fountain, .md, .txt, .yaml or .json file",
            hint="export the script as plain text (Fountain or UTF-8 .txt); .docx/.pdf are not read",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, column = _line_col(data, err.start)
        hint = "re-save the file as UTF-8 (in most editors: Save As… → Encoding: UTF-8)"
        try:
            data.decode("gb18030")
            hint += "; it looks like GBK/GB18030, e.g. `iconv -f GB18030 -t UTF-8 in.txt > out.txt`"
        except UnicodeDecodeError:
            pass
        raise ScriptError(
            f"the file is not valid UTF-8 (byte 0x{data[err.start]:02X})",
            file=source,
            line=line,
            column=column,
            expected="UTF-8 text",
            hint=hint,
        ) from None
    return normalize(text)


def normalize(text: str) -> str:
    """Drop a leading BOM and turn CRLF / CR line endings into LF."""
    if text.startswith(BOM):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | Path) -> str:
    """The normalised text of the script at ``path``, or a ScriptError saying why it cannot be read."""
    p = Path(path)
    try:
        exists = p.exists()
    except (OSError, ValueError) as err:  # a NUL byte in the name, a path too long for the OS
        raise ScriptError(
            f"not a usable path: {err}", file=repr(str(path)), hint="check the file name"
        ) from None
    if not exists:
        raise ScriptError(
            "no such file",
            file=p,
            expected="the path of a script file",
            hint="check the spelling and the working directory",
        )
    if p.is_dir():
        raise ScriptError(
            "this is a directory, not a script file",
            file=p,
            expected="a .fountain, .md, .txt, .yaml or .json file",
            hint="pass one script file",
        )
    try:
        data = p.read_bytes()
    except OSError as err:
        raise ScriptError(
            f"cannot read the file: {err.strerror or err}", file=p, hint="check its permissions"
        ) from None
    return decode(data, source=str(p))
