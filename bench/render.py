"""Render benchmark: the English example against the encode floor, cached re-runs, a one-line edit, and MoviePy.

Run: ``.venv/bin/python bench/render.py`` (≈ 10-15 min on 2 cores). Writes ``bench/results/render.json``.
All figures come from this one run on this machine, side by side.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
EXAMPLE = ROOT / "examples" / "the_last_delivery.fountain"
RESULTS = ROOT / "bench" / "results" / "render.json"


def cli(*args: str, env: dict | None = None) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "flows.cli", *args], cwd=ROOT, capture_output=True, text=True,
        env={**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false", **(env or {})}, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 2):
        raise SystemExit(f"reelwright {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return elapsed, proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


def encode_floor(episode: Path, work: Path) -> dict:
    """One libx264 encode with the shots' settings, of the same frames (decoded from the episode) and of testsrc2."""
    from tasks.media.ffmpeg import VideoEncoding, ffmpeg_exe
    from tasks.media.probe import probe

    info = probe(episode)
    enc = VideoEncoding()
    common = ["-an", "-c:v", enc.codec, "-preset", enc.preset, "-crf", str(enc.crf), "-pix_fmt", enc.pix_fmt]
    t0 = time.perf_counter()
    subprocess.run([ffmpeg_exe(), "-v", "error", "-y", "-i", str(episode), *common, str(work / "floor_same.mp4")], check=True)
    same = time.perf_counter() - t0
    t0 = time.perf_counter()
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=s=1080x1920:r=30:d={info.duration:.3f}",
         *common, str(work / "floor_testsrc.mp4")], check=True,
    )  # fmt: skip
    testsrc = time.perf_counter() - t0
    return {"duration_s": round(info.duration, 2), "same_frames_s": round(same, 2), "testsrc2_s": round(testsrc, 2)}


def moviepy_peer(out: Path, work: Path) -> float:
    """The same timeline composed with MoviePy, as MoneyPrinterTurbo-style tools do: shot clips, TextClip
    subtitles composited per cue, the mix as the soundtrack, one write_videofile with the same x264 preset."""
    import pysubs2
    from moviepy import AudioFileClip, CompositeVideoClip, TextClip, VideoFileClip

    from tasks.video.text import default_font_path as font_path

    subs = pysubs2.load(str(out / "episode.srt"))
    t0 = time.perf_counter()
    base = VideoFileClip(str(out / "episode.mp4"), audio=False)
    layers = [base]
    for ev in subs:
        txt = TextClip(
            font=str(font_path()), text=ev.plaintext, font_size=54, color="white", stroke_color="black", stroke_width=3,
            method="caption", size=(900, None), text_align="center",
        )  # fmt: skip
        layers.append(txt.with_start(ev.start / 1000).with_duration((ev.end - ev.start) / 1000).with_position(("center", 1380)))
    comp = CompositeVideoClip(layers, size=base.size).with_audio(AudioFileClip(str(out / "stems" / "dialogue.wav")))
    comp.write_videofile(
        str(work / "moviepy.mp4"), fps=30, codec="libx264", preset="veryfast", audio_codec="aac", logger=None, threads=2,
        temp_audiofile=str(work / "moviepy_audio.m4a"),
    )
    return time.perf_counter() - t0


def prefect_server(work: Path) -> tuple[subprocess.Popen, dict]:
    """A real `prefect server start` on a free loopback port, as a studio runs it (no per-run API start-up)."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "PREFECT_HOME": str(work / "prefect"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
    }  # fmt: skip
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline:
        try:
            if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                return proc, env
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    raise SystemExit("prefect server did not start")


def edited_script(work: Path, name: str, suffix: str, index: int = 0) -> Path:
    """The example with its ``index``-th dialogue line changed (one line: one shot to re-render)."""
    from tasks.script import parse_script

    text = EXAMPLE.read_text(encoding="utf-8")
    target = [el.text for el in parse_script(EXAMPLE).elements() if el.kind == "dialogue"][index]
    assert target in text, "the dialogue line must appear verbatim in the script"
    path = work / name
    path.write_text(text.replace(target, target.rstrip(".?!") + suffix, 1), encoding="utf-8")
    return path


def save(results: dict) -> None:
    """Write what has been measured so far (a failing later stage must not lose the earlier figures)."""
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, RESULTS)


def main(argv: list[str] | None = None) -> None:
    import argparse

    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)  # --help only
    work = Path(tempfile.mkdtemp(prefix="reelwright-bench-"))
    cache, out = work / "cache", work / "out"
    results: dict = {
        "machine": {
            "cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        }
    }  # fmt: skip
    try:
        full, line = cli("render", str(EXAMPLE), "--out", str(out), "--cache", str(cache))
        summary = json.loads((out / ".reelwright-render.json").read_text())["summary"]
        results["full_render"] = {"wall_s": round(full, 2), "flow_s": summary["seconds"], "summary": line,
                                  "episode_s": summary["duration_s"], "shots": summary["shots"]}  # fmt: skip
        floor = encode_floor(out / "episode.mp4", work)
        results["encode_floor"] = floor
        results["ratio_to_floor"] = round(full / floor["same_frames_s"], 2)
        save(results)
        rerun, _ = cli("render", str(EXAMPLE), "--out", str(out), "--cache", str(cache))
        forced, _ = cli("render", str(EXAMPLE), "--out", str(out), "--cache", str(cache), "--force")
        results["no_change_rerun_s"] = round(rerun, 2)
        results["no_change_rerun_through_flow_s"] = round(forced, 2)
        save(results)
        edited = edited_script(work, "edited.fountain", ", I mean it.")
        edit, edit_line = cli("render", str(edited), "--out", str(work / "out_edit"), "--cache", str(cache))
        results["one_line_edit"] = {"wall_s": round(edit, 2), "share_of_full": round(edit / full, 3), "summary": edit_line}
        save(results)
        # The same measurements against a running Prefect server (PREFECT_API_URL set), as a studio deploys it:
        # the ephemeral API's start-up (~15-30 s here) is no longer paid by every command.
        server, env = prefect_server(work)
        try:
            warm_cache = work / "cache_warm"
            wfull, wline = cli("render", str(EXAMPLE), "--out", str(work / "out_warm"), "--cache", str(warm_cache), env=env)
            wforced, _ = cli("render", str(EXAMPLE), "--out", str(work / "out_warm"), "--cache", str(warm_cache), "--force", env=env)
            wedited = edited_script(work, "edited_warm.fountain", ", I swear.", index=1)
            wedit, wedit_line = cli("render", str(wedited), "--out", str(work / "out_warm_edit"), "--cache", str(warm_cache), env=env)
        finally:
            server.terminate()
            server.wait(timeout=60)
        results["with_prefect_server"] = {
            "full_render_s": round(wfull, 2), "ratio_to_floor": round(wfull / floor["same_frames_s"], 2),
            "no_change_rerun_through_flow_s": round(wforced, 2),
            "one_line_edit_s": round(wedit, 2), "one_line_edit_share_of_full": round(wedit / wfull, 3),
            "summaries": [wline, wedit_line],
        }  # fmt: skip
        save(results)
        peer = moviepy_peer(out, work)
        results["moviepy_peer_s"] = round(peer, 2)
        results["speedup_vs_moviepy"] = round(peer / full, 2)
        results["targets"] = {
            "ratio_to_floor<=2": results["ratio_to_floor"] <= 2,
            "no_change_rerun<=5s": results["no_change_rerun_s"] <= 5,
            "one_line_edit<=20%": results["one_line_edit"]["share_of_full"] <= 0.2,
            "one_line_edit<=20%_with_prefect_server": results["with_prefect_server"]["one_line_edit_share_of_full"] <= 0.2,
            "speedup_vs_moviepy>=5": results["speedup_vs_moviepy"] >= 5,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    save(results)
    print(json.dumps(results, indent=2, ensure_ascii=False))  # noqa: T201 - a benchmark's report


if __name__ == "__main__":
    main()
