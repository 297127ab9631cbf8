"""Errors of the procedural video package."""

from __future__ import annotations

from schemas.errors import ReelwrightError


class VideoError(ReelwrightError):
    """A shot could not be drawn from its request (bad field, unreadable audio, missing font)."""
