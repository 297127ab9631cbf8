"""The mmdit backend: exact frame and sample counts at the shot's size, from a (tiny, untrained) checkpoint."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from schemas.generate import SceneContext, ShotRequest
from schemas.plan import Shot
from tasks.generate.mmdit import MMDiTBackend, MMDiTBackendError, fit_frame, resample_audio
from tasks.generate.protocol import GenerationBackend


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    from model_core.checkpoint import save_checkpoint
    from model_core.config import preset
    from model_core.model import DualStreamMMDiT

    torch.manual_seed(0)
    return save_checkpoint(tmp_path_factory.mktemp("ck") / "tiny", DualStreamMMDiT(preset("tiny")))


def request(frames: int = 45, *, fps: int = 30, width: int = 72, height: int = 128, prompt: str = "a blue metal ball",
            seed: int = 0) -> ShotRequest:  # fmt: skip
    shot = Shot(id="sc01-sh01", duration=frames / fps)
    return ShotRequest(shot=shot, scene=SceneContext(index=1, heading="INT. BOX - DAY"), prompt=prompt,
                       frames=frames, fps=fps, width=width, height=height, seed=seed)  # fmt: skip


def test_backend_yields_exactly_the_requested_frames_and_samples(checkpoint) -> None:
    backend = MMDiTBackend(checkpoint, steps=2)
    assert isinstance(backend, GenerationBackend) and backend.name == "mmdit"
    req = request(45)  # 1.5 s at 30 fps: two 1-second model segments
    shot = backend.generate(req)
    frames = list(shot.frames)
    assert len(frames) == 45
    assert all(f.shape == (128, 72, 3) and f.dtype == np.uint8 for f in frames)
    assert shot.effects.shape == (45 * 1600, 2) and shot.effects.dtype == np.float32
    assert np.array_equal(shot.effects[:, 0], shot.effects[:, 1])
    assert shot.info["segments"] == 2 and shot.info["caption"].startswith("a blue metal ball bouncing")
    # letterboxed: the square picture fills the width, the bands above and below are the box background
    assert (frames[0][0] == frames[0][0, 0]).all() and (frames[0][-1] == frames[0][-1, 0]).all()


def test_backend_is_deterministic_and_versioned(checkpoint) -> None:
    backend = MMDiTBackend(checkpoint, steps=2)
    a = backend.generate(request(8, seed=3))
    b = backend.generate(request(8, seed=3))
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames, strict=True))
    assert np.array_equal(a.effects, b.effects)
    assert backend.version() == MMDiTBackend(checkpoint, steps=2).version()
    assert backend.version() != MMDiTBackend(checkpoint, steps=3).version()


def test_bad_requests_and_checkpoints(tmp_path, checkpoint) -> None:
    with pytest.raises(MMDiTBackendError, match="does not divide"):
        MMDiTBackend(checkpoint, steps=2).generate(request(10, fps=7))
    from model_core.checkpoint import CheckpointError

    with pytest.raises(CheckpointError, match="does not exist"):
        MMDiTBackend(tmp_path / "missing").generate(request(4))


def test_frame_fit_and_audio_resampling() -> None:
    frame = np.zeros((32, 32, 3), np.uint8)
    frame[:16] = 200
    out = fit_frame(frame, 108, 192, (1, 2, 3))
    assert out.shape == (192, 108, 3)
    assert (out[:42] == (1, 2, 3)).all() and (out[42 + 10] == 200).all() and (out[42 + 60] == 0).all()
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    up = resample_audio(tone, 8000, 48000, 48000)
    assert up.shape == (48000, 2)
    spectrum = np.abs(np.fft.rfft(up[:, 0]))
    assert abs(np.argmax(spectrum) - 440) <= 1
