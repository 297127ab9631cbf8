"""The backbone flow end to end at a small frame size: outputs, caching, one-shot re-render, resume after kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = """Title: The Spare Key
Author: Reelwright tests

INT. HALLWAY - NIGHT

Rain against the window. Someone KNOCKS at the door.

NORA
(whispering)
Did you hear that?

SAM
It's only the wind.

EXT. PORCH - NIGHT

A figure in the rain. Glass SHATTERS somewhere behind the house.

IVY
(cold)
You gave him my key.
"""

SIZE = "270x480"


def _write(tmp_path: Path, text: str = SCRIPT, name: str = "ep.fountain") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _render(script: Path, out: Path, cache: Path, **kw) -> dict:
    from flows.render_episode import render_episode

    return render_episode(script=str(script), out=str(out), cache=str(cache), size=SIZE, **kw)


@pytest.fixture(scope="module")
def first_render(prefect_harness, tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    script = _write(root)
    summary = _render(script, root / "out", root / "cache")
    return root, script, summary


def test_delivers_every_output(first_render):
    root, _, summary = first_render
    out = root / "out"
    for name in ("episode.mp4", "episode.srt", "episode.vtt", "cover.jpg", "plan.json", "qc.json",
                 "stems/dialogue.wav", "stems/music.wav", "stems/effects.wav", "stems/me.wav"):
        assert (out / name).is_file(), name
    qc = json.loads((out / "qc.json").read_text())
    assert (qc["width"], qc["height"]) == (270, 480)
    assert qc["checks"]["fps"] and qc["checks"]["video_codec"] and qc["checks"]["audio_codec"]
    assert qc["checks"]["loudness"] and qc["checks"]["true_peak"] and qc["checks"]["av_length_match"]
    assert abs(qc["integrated_lufs"] + 14) <= 1.0 and qc["true_peak_dbtp"] <= -1.0
    assert qc["similar_voices"] == []  # auto-cast: every pair of one gender ≥ 2 semitones apart
    plan = json.loads((out / "plan.json").read_text())
    assert all("duration" in shot and "dialogue" in shot for scene in plan["scenes"] for shot in scene["shots"])
    srt = (out / "episode.srt").read_text()
    assert "hear" in srt and "key" in srt
    assert summary["shots_rendered"] == summary["shots"] > 0
    assert not [p for p in out.rglob(".*") if p.name != ".reelwright-render.json"], "temporary files left behind"


def test_unchanged_rerun_does_no_generation(first_render):
    root, script, _ = first_render
    again = _render(script, root / "out2", root / "cache")
    assert again["shots_rendered"] == 0 and again["lines_voiced"] == 0
    assert (root / "out2" / "episode.mp4").read_bytes() == (root / "out" / "episode.mp4").read_bytes()


def test_one_line_edit_rerenders_one_shot(first_render):
    root, _, first = first_render
    edited = _write(root, SCRIPT.replace("It's only the wind.", "It's only the rain."), "edited.fountain")
    summary = _render(edited, root / "out3", root / "cache")
    assert summary["lines_voiced"] == 1
    assert summary["shots_rendered"] == 1 and summary["shots_cached"] == first["shots"] - 1


def test_retake_rerenders_that_shot_with_a_new_seed(first_render):
    root, script, first = first_render
    target = first["takes"][1]["shot_id"]
    summary = _render(script, root / "out4", root / "cache", retakes={target: 1})
    assert summary["shots_rendered"] == 1
    changed = [t["shot_id"] for t in summary["takes"] if not t["cached"]]
    assert changed == [target]


def _cli(*args: str, env: dict | None = None, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "flows.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, **(env or {})}, cwd=Path(__file__).resolve().parents[2], **kw,
    )  # fmt: skip


@pytest.mark.slow
def test_resume_after_sigkill(tmp_path):
    script = _write(tmp_path)
    cache, out = tmp_path / "cache", tmp_path / "out"
    proc = _cli("render", str(script), "--out", str(out), "--cache", str(cache), "--size", SIZE)
    deadline = time.time() + 240
    shots_dir = cache / "shots"
    while time.time() < deadline and proc.poll() is None:
        if shots_dir.is_dir() and len(list(shots_dir.rglob("*.mp4"))) >= 2:
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the render finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(list(shots_dir.rglob("*.mp4")))
    assert not (out / "episode.mp4").exists()
    rerun = _cli("render", str(script), "--out", str(out), "--cache", str(cache), "--size", SIZE)
    stdout, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    assert (out / "episode.mp4").is_file()
    assert f"{done_before} cached" in stdout or "cached" in stdout
    assert not [p for p in out.rglob(".*") if p.name != ".reelwright-render.json"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "{missing}", "--out", "{out}"], "missing.fountain: no such file"),
        (["render", "{script}", "--out", "{out}", "--backend", "nope"], "unknown backend 'nope'"),
        (["render", "{script}", "--out", "{blocked}/sub"], "cannot write to the output directory"),
        (["render", "{script}", "--out", "{out}", "--size", "100x7"], "bad frame size"),
        (["render", "{script}", "--out", "{out}", "--music", "{missing}"], "no such music file"),
    ],
)
def test_bad_input_is_one_clear_message(tmp_path, args, message):
    script = _write(tmp_path)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, not a folder")
    fmt = {"missing": str(tmp_path / "missing.fountain"), "out": str(tmp_path / "o"), "script": str(script), "blocked": str(blocked)}
    proc = _cli(*[a.format(**fmt) for a in args])
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "o" / "episode.mp4").exists()
