"""Slow checks (``make test-slow``): the load test at small scale; `reelwright serve` as a real process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_feedback_bench_stores_every_event_exactly_once(tmp_path):
    out = tmp_path / "feedback.json"
    proc = subprocess.run(
        [sys.executable, "bench/feedback.py", "--clients", "8", "--events", "25", "--replay-every", "5",
         "--backends", "sqlite", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run,) = json.loads(out.read_text())["runs"]
    assert run["exactly_once"] and run["stored"]["distinct_keys"] == 200 and run["replayed_events"] == 40
    assert run["status_counts"] == {"200": 40, "201": 200}


def test_reelwright_serve_runs_the_dashboard(tmp_path):
    from tests.dashboard.test_browser import _free_port

    port = _free_port()
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    token = subprocess.run(
        [sys.executable, "-m", "flows.cli", "users", "add", "mei", "--db", url],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=True,
    ).stdout.strip()  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--port", str(port), "--db", url,
         "--renders", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
        env={**os.environ, "REELWRIGHT_HOME": str(tmp_path)},
    )  # fmt: skip
    try:
        deadline = time.time() + 60
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.time() < deadline, "serve did not answer within 60 s"
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "database": "ok", "renderer": True}
        page = httpx.get(f"http://127.0.0.1:{port}/")
        assert page.status_code == 200 and "<video" in page.text
        me = httpx.get(f"http://127.0.0.1:{port}/api/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["name"] == "mei"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
