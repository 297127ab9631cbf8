"""The remote backend's client side: clear errors for unreachable servers, rejected requests and bad results."""

from __future__ import annotations

import io
import json
import socket
import zipfile

import numpy as np
import pytest

from schemas.generate import SceneContext, ShotRequest
from schemas.plan import Shot
from tasks.generate.remote import RemoteBackend, RemoteBackendError, unpack_result


def _request(frames: int = 4) -> ShotRequest:
    return ShotRequest(shot=Shot(id="sc01-sh09", duration=frames / 25), scene=SceneContext(index=1, heading="X"),
                       prompt="a red ball", frames=frames, fps=25, width=32, height=48)  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_url_without_scheme_is_refused() -> None:
    with pytest.raises(RemoteBackendError, match="no http"):
        RemoteBackend("127.0.0.1:8765")


def test_unreachable_server_is_a_clear_error() -> None:
    backend = RemoteBackend(f"http://127.0.0.1:{_closed_port()}", request_timeout=2, submit_timeout=0)
    with pytest.raises(RemoteBackendError) as err:
        backend.generate(_request())
    assert "cannot reach" in str(err.value) and "reelwright model serve" in str(err.value)


def _zip(**members: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_result_checks(tmp_path) -> None:
    req = _request(4)
    with pytest.raises(RemoteBackendError, match="not a zip"):
        unpack_result(b"garbage", req)
    with pytest.raises(RemoteBackendError, match="expected video.mp4"):
        unpack_result(_zip(**{"info.json": b"{}"}), req)
    # a real but too short video
    from fractions import Fraction

    from tasks.audio.wav import write_wav
    from tasks.media.ffmpeg import FrameWriter

    video = tmp_path / "v.mp4"
    with FrameWriter(video, width=32, height=48, fps=Fraction(25)) as w:
        for _ in range(3):
            w.write(np.zeros((48, 32, 3), np.uint8))
    wav = tmp_path / "e.wav"
    write_wav(wav, np.zeros((4 * 1920, 2), np.float32), 48_000)
    blob = _zip(**{"video.mp4": video.read_bytes(), "effects.wav": wav.read_bytes(), "info.json": json.dumps({}).encode()})
    with pytest.raises(RemoteBackendError, match="has 3 frames, the request asked for 4"):
        unpack_result(blob, req)
    with pytest.raises(RemoteBackendError, match=r"effects.wav is \(7680, 2\)"):
        unpack_result(blob, _request(3))  # 3 frames fit a 3-frame request, a 4-frame effects track does not
