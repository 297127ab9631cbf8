"""The cleanup package's error."""

from __future__ import annotations

from schemas.errors import ReelwrightError


class CleanupError(ReelwrightError):
    """A clip or a mask that cleanup cannot work with; the message names the file and the fix."""
