"""Progress events from a running flow to whoever started it (the CLI installs a display; default: nothing).

The reporter is chosen at the composition root; flows only call :func:`emit`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    stage: str  # "parse", "plan", "voice", "score", "shot", "mix", "assemble", "deliver", "qc"
    item: str = ""  # e.g. a shot id
    status: str = "done"  # "start" | "done" | "cached" | "failed"
    detail: str = ""
    total: int = 0  # how many items this stage has, when known


_lock = threading.Lock()
_reporter: Callable[[Event], None] | None = None


def set_reporter(reporter: Callable[[Event], None] | None) -> None:
    global _reporter
    with _lock:
        _reporter = reporter


def emit(stage: str, item: str = "", status: str = "done", detail: str = "", total: int = 0) -> None:
    with _lock:
        reporter = _reporter
    if reporter is not None:
        reporter(Event(stage, item, status, detail, total))
