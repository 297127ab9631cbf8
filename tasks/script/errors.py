"""Script errors: each names the file, the 1-based line and column, and what was expected there."""

from __future__ import annotations

from pathlib import Path

from schemas.errors import ReelwrightError


class ScriptError(ReelwrightError):
    """A script that cannot be read or parsed.

    ``expected`` says what would have been valid at that spot (shown after the message), ``hint`` how to fix
    it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        expected: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.expected = expected
        if expected:
            message = f"{message}; expected {expected}"
        super().__init__(message, file=file, line=line, column=column, field=field, hint=hint)
