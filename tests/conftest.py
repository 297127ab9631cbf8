"""Shared test fixtures. Real-world fixtures live in ../shared/fixtures and are optional (skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = Path(os.environ.get("REELWRIGHT_SHARED_FIXTURES", ROOT.parent / "shared" / "fixtures"))

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


@pytest.fixture(scope="session")
def shared_fixtures() -> Path:
    """``../shared/fixtures``; the test is skipped where that folder is absent (a user's clone)."""
    if not SHARED_FIXTURES.is_dir():
        pytest.skip("../shared/fixtures is absent")
    return SHARED_FIXTURES


def shared_fixture(*parts: str) -> Path:
    """Path of one shared fixture, skipping the calling test if it is absent."""
    path = SHARED_FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared fixture {path} is absent")
    return path
