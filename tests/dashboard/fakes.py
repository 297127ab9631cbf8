"""A fake renderer for dashboard tests: real (tiny) MP4 files made with ffmpeg's lavfi sources, and real
run records written through the repository exactly as the episode flow writes them.

The "script" is a JSON file:
``{"series": ..., "episode": 1, "title": ..., "shots": [[shot_id, scene, seconds], ...]}``.
"""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path

from storage.assets import file_digest
from storage.db import make_engine, session_scope
from storage.repository import finish_render, record_take, start_render
from tasks.media.ffmpeg import run_ffmpeg

SIZE = "180x320"  # 9:16, small
FPS = 10

# A take's colour, so a retake is visibly different.
COLOURS = ["0x3355aa", "0xaa5533", "0x33aa55", "0xaaaa33"]


def write_script(path: Path, *, series: str = "The Last Delivery", episode: int = 1, shots=None) -> Path:
    shots = shots or [["sc01-sh01", 1, 1.0], ["sc01-sh02", 1, 1.0], ["sc02-sh01", 2, 1.0]]
    path.write_text(json.dumps({"series": series, "episode": episode, "title": "Pilot", "shots": shots}))
    return path


def _clip(path: Path, seconds: float, colour: str) -> None:
    run_ffmpeg(
        ["-f", "lavfi", "-i", f"color=c={colour}:s={SIZE}:r={FPS}:d={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
         str(path)],
        timeout=60,
    )  # fmt: skip


class FakeRenderer:
    """``renderer(script_path, out_dir, retakes) -> dict`` that renders shot clips and an episode file."""

    def __init__(self, db_url: str, *, fail: bool = False) -> None:
        self.engine = make_engine(db_url)
        self.fail = fail
        self.calls: list[tuple[str, str, dict[str, int]]] = []
        self.lock = threading.Lock()

    def __call__(self, script_path: str, out_dir: str, retakes: dict[str, int]) -> dict:
        with self.lock:
            self.calls.append((script_path, out_dir, dict(retakes)))
        spec = json.loads(Path(script_path).read_text())
        text = Path(script_path).read_text()
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        with session_scope(self.engine, write=True) as s:
            render_id = start_render(
                s, series_title=spec["series"], episode_number=spec["episode"], episode_title=spec["title"],
                script_text=text, script_path=script_path, script_format="json", backend="fake",
                out_dir=out_dir,
            )  # fmt: skip
        if self.fail:
            raise RuntimeError("fake renderer: generation failed on shot sc01-sh02 (asked to fail)")
        total = 0.0
        for shot_id, scene, seconds in spec["shots"]:
            take = int(retakes.get(shot_id, 0))
            clip = out / f"{shot_id}-take{take}.mp4"
            if not clip.exists():
                _clip(clip, seconds, COLOURS[take % len(COLOURS)])
            key = hashlib.sha256(f"{shot_id}:{take}".encode()).hexdigest()
            with session_scope(self.engine, write=True) as s:
                record_take(
                    s, render_id, shot_id=shot_id, scene_index=scene,
                    plan_json={"id": shot_id, "duration": seconds, "action": f"shot {shot_id}"},
                    take=take, seed=1000 + take, key=key, uri=str(clip), digest=file_digest(clip),
                    duration=seconds, cached=False,
                )  # fmt: skip
            total += seconds
        episode = out / "episode.mp4"
        run_ffmpeg(
            ["-f", "lavfi", "-i", f"testsrc2=s={SIZE}:r={FPS}:d={total}",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart",
             str(episode)],
            timeout=60,
        )  # fmt: skip
        with session_scope(self.engine, write=True) as s:
            finish_render(
                s, render_id, status="succeeded", episode_uri=str(episode), qc={"duration_s": total}
            )
        return {"episode": str(episode), "render_id": render_id}

    def close(self) -> None:
        self.engine.dispose()
