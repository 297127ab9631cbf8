"""Casting is stored per series and reused: a character sounds the same in episode 2 as in episode 1."""

from __future__ import annotations

from pathlib import Path

from tasks import pipeline

EP1 = """Title: Harbor Lights

INT. OFFICE - DAY

ANNA
We close tonight.

BEN
Then we close together.
"""

EP2 = """Title: Harbor Lights

EXT. DOCK - NIGHT

CLARA
Who are you people?

BEN
Friends of Anna.

ANNA
(cold)
Not anymore.
"""


def _job(tmp_path: Path, name: str, text: str, db: str) -> pipeline.Job:
    script = tmp_path / name
    script.write_text(text, encoding="utf-8")
    return pipeline.prepare(
        str(script), str(tmp_path / f"out-{name}"), "animatic", None, None, {}, str(tmp_path / "cache"), None, db,
        "espeak", None, "270x480",
    )  # fmt: skip


def test_casting_is_stable_across_two_episodes(tmp_path):
    db = f"sqlite:///{tmp_path / 'runs.db'}"
    first = _job(tmp_path, "ep1.fountain", EP1, db)
    pipeline.record(first, {"episode": str(tmp_path / "ep1.mp4"), "takes": []})
    second = _job(tmp_path, "ep2.fountain", EP2, db)
    assert second.casting["ANNA"] == first.casting["ANNA"]
    assert second.casting["BEN"] == first.casting["BEN"]
    assert second.casting["CLARA"] not in (first.casting["ANNA"], first.casting["BEN"])
    fresh = _job(tmp_path, "ep2b.fountain", EP2, f"sqlite:///{tmp_path / 'other.db'}")
    assert fresh.casting["CLARA"] == second.casting["CLARA"]  # assignment is deterministic, not order-dependent
