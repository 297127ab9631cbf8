"""Deployments on a real Prefect server: serve them from one process, trigger a run from another, see it finish."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """Title: Porch Light

EXT. PORCH - NIGHT

Thunder RUMBLES.

NORA
Who left the light on?

SAM
(whispering)
Not me.
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_health(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"prefect server exited: {proc.stderr.read() if proc.stderr else ''}")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("prefect server did not become healthy")


@pytest.mark.slow
def test_trigger_render_episode_deployment(tmp_path):
    port = _free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ, "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false",
        "PREFECT_RUNNER_POLL_FREQUENCY": "2", "PREFECT_LOGGING_LEVEL": "WARNING",
    }  # fmt: skip
    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen(
        [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    worker = None
    try:
        _wait_health(api, server, timeout=240)
        worker = subprocess.Popen(
            [sys.executable, "-m", "flows.cli", "deploy"], env=env, cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        script = tmp_path / "porch.fountain"
        script.write_text(SCRIPT, encoding="utf-8")
        out = tmp_path / "out"
        args = [
            sys.executable, "-m", "flows.cli", "trigger", "render-episode", "-p", f"script={script}", "-p", f"out={out}",
            "-p", "size=270x480", "-p", f"cache={tmp_path / 'cache'}", "--wait", "--timeout", "600",
        ]  # fmt: skip
        deadline = time.time() + 180
        while True:  # the serving process registers the deployments a few seconds after it starts
            run = subprocess.run(args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
            if run.returncode == 0 or "not found" not in (run.stderr + run.stdout).lower() or time.time() > deadline:
                break
            assert worker.poll() is None, worker.stderr.read() if worker.stderr else ""
            time.sleep(3)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Completed" in run.stdout
        assert (out / "episode.mp4").is_file() and (out / "qc.json").is_file()
    finally:
        for proc in (worker, server):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
