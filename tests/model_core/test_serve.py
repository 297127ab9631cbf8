"""The inference server: health, 422 on bad requests, 404 on unknown jobs, one shot through the remote backend."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import numpy as np
import pytest
import torch

from schemas.generate import SceneContext, ShotRequest
from schemas.plan import Shot


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shot_request(frames: int = 10, *, fps: int = 25, width: int = 64, height: int = 96) -> ShotRequest:
    return ShotRequest(shot=Shot(id="sc01-sh02", duration=frames / fps),
                       scene=SceneContext(index=1, heading="EXT. BOX - DAY"), prompt="two yellow glass balls",
                       frames=frames, fps=fps, width=width, height=height, seed=1)  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real uvicorn server on a free loopback port, over an untrained tiny checkpoint (2 sampler steps)."""
    import uvicorn

    from model_core.checkpoint import save_checkpoint
    from model_core.config import preset
    from model_core.model import DualStreamMMDiT
    from model_core.serve import create_app
    from tasks.generate.mmdit import MMDiTBackend

    torch.manual_seed(0)
    ckpt = save_checkpoint(tmp_path_factory.mktemp("serve") / "tiny", DualStreamMMDiT(preset("tiny")))
    app = create_app(MMDiTBackend(ckpt, steps=2), queue_size=2, checkpoint=str(ckpt))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("the server did not start")
        time.sleep(0.05)
    yield url
    srv.should_exit = True
    thread.join(timeout=30)


def test_health(server) -> None:
    r = httpx.get(f"{server}/health", timeout=30)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["backend"] == "mmdit" and body["version"].startswith("mmdit-")


def test_bad_requests_are_422_and_unknown_jobs_404(server) -> None:
    assert httpx.post(f"{server}/v1/generate", json={"prompt": "no shot"}, timeout=30).status_code == 422
    bad = shot_request().model_dump(mode="json") | {"fps": 7}
    r = httpx.post(f"{server}/v1/generate", json=bad, timeout=30)
    assert r.status_code == 422 and "does not divide" in r.json()["detail"]
    assert httpx.get(f"{server}/v1/jobs/nope", timeout=30).status_code == 404
    assert httpx.get(f"{server}/v1/jobs/nope/result", timeout=30).status_code == 404


def test_one_shot_through_the_remote_backend(server) -> None:
    from tasks.generate.protocol import GenerationBackend
    from tasks.generate.remote import RemoteBackend

    backend = RemoteBackend(server, job_timeout=120)
    assert isinstance(backend, GenerationBackend) and backend.version().startswith("remote-mmdit-")
    req = shot_request(10)
    shot = backend.generate(req)
    frames = list(shot.frames)
    assert len(frames) == 10 and all(f.shape == (96, 64, 3) and f.dtype == np.uint8 for f in frames)
    assert shot.effects.shape == (10 * 48_000 // 25, 2) and shot.effects.dtype == np.float32
    assert shot.info["caption"].startswith("two yellow glass balls")
    # the picture survives the H.264 round trip close to what the local backend renders
    from tasks.generate.mmdit import MMDiTBackend

    local = list(MMDiTBackend(shot.info["checkpoint"], steps=2).generate(req).frames)
    assert np.abs(np.stack(frames).astype(int) - np.stack(local).astype(int)).mean() < 6
