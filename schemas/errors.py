"""The root of every Reelwright error.

Each package defines its own subclasses (``ScriptError``, ``MediaError``, ``StorageError`` …). A message names
where the problem is (file, line, column or field) and how to fix it; the CLI prints ``str(err)`` and exits
non-zero, never a traceback.
"""

from __future__ import annotations

from pathlib import Path


class ReelwrightError(Exception):
    """A failure the user can act on.

    ``where`` is a file path (optionally with line/column) or a field path; ``hint`` says what to do.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        self.field = field
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        if self.field:
            where = f"{where} [{self.field}]" if where else self.field
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text += f"\n  fix: {self.hint}"
        return text


class ConfigError(ReelwrightError):
    """Bad configuration: an unknown backend, a bad option, an unwritable output directory."""
