"""render / plan / validate commands (filled in by the backbone work)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    return None
