"""What the app holds for its lifetime: engine, transaction helpers, token cache, render jobs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from storage.db import run_in_transaction

if TYPE_CHECKING:
    from dashboard.auth import TokenCache
    from dashboard.jobs import RenderJobs

T = TypeVar("T")


@dataclass
class Database:
    """Short transactions with retry on transient errors; ``write`` takes SQLite's write lock up front."""

    engine: Engine

    def read(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work)

    def write(self, work: Callable[[Session], T]) -> T:
        return run_in_transaction(self.engine, work, write=True)


@dataclass
class AppState:
    db: Database
    renders_dir: Path
    backend: str
    tokens: TokenCache
    jobs: RenderJobs
