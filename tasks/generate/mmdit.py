"""The ``mmdit`` generation backend: our dual-stream model (``model_core``) from a local checkpoint.

The shipped checkpoint is the ``tiny`` model of the toy world (coloured balls bouncing in a box), so a shot's
prompt is first turned into a toy prompt (:func:`model_core.toyworld.scene_from_text`: colour/material words the
prompt names win, the rest follows a stable hash of the prompt). The model samples picture and sound *together*
in 1-second segments; a shot longer than one second gets several independently sampled segments (one batched
sampler call), concatenated. Frames are resampled to the shot's frame rate by time (frame ``i`` shows the model
frame at ``i / fps`` s), scaled to fit the shot's width and letterboxed with the box's background colour; sound is
resampled to 48 kHz stereo with exactly ``frames * sample_rate / fps`` samples.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError
from schemas.generate import ShotRequest
from tasks.generate.protocol import GeneratedShot


class MMDiTBackendError(ReelwrightError):
    """A shot request the model backend cannot render."""


def _validate(request: ShotRequest) -> None:
    if request.frames < 1:
        raise MMDiTBackendError(f"frames must be at least 1, got {request.frames}", field="request.frames")
    if request.width < 16 or request.height < 16:
        raise MMDiTBackendError(f"frame size {request.width}x{request.height} is too small", field="request.width",
                                hint="use at least 16x16 (default 1080x1920)")  # fmt: skip
    if request.fps < 1 or request.sample_rate % request.fps:
        raise MMDiTBackendError(f"{request.sample_rate} Hz audio does not divide into {request.fps} fps frames",
                                field="request.fps", hint="use 24, 25, 30, 48, 50 or 60 fps with 48000 Hz")  # fmt: skip


def fit_frame(frame: np.ndarray, width: int, height: int, fill: tuple[int, int, int]) -> np.ndarray:
    """Scale ``frame`` (nearest neighbour, keeps the toy's crisp pixels) to fit ``width x height``; pad with ``fill``."""
    import cv2

    h, w = frame.shape[:2]
    s = min(width / w, height / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    scaled = cv2.resize(frame, (nw, nh), interpolation=cv2.INTER_NEAREST)
    out = np.empty((height, width, 3), np.uint8)
    out[:] = fill
    y0, x0 = (height - nh) // 2, (width - nw) // 2
    out[y0 : y0 + nh, x0 : x0 + nw] = scaled
    return out


def resample_audio(audio: np.ndarray, rate_in: int, rate_out: int, samples: int) -> np.ndarray:
    """Mono ``audio`` at ``rate_in`` → ``(samples, 2) float32`` at ``rate_out`` (polyphase, then cut/pad)."""
    from scipy.signal import resample_poly

    g = math.gcd(rate_in, rate_out)
    y = resample_poly(np.asarray(audio, np.float64), rate_out // g, rate_in // g)
    y = y[:samples] if len(y) >= samples else np.pad(y, (0, samples - len(y)))
    y = np.clip(y, -1.0, 1.0).astype(np.float32)
    return np.stack([y, y], axis=1)


class MMDiTBackend:
    """``GenerationBackend`` over a ``model_core`` checkpoint directory (default: the shipped tiny model)."""

    name = "mmdit"

    def __init__(self, checkpoint: str | Path | None = None, *, steps: int | None = None,
                 cfg_text: float | None = None) -> None:  # fmt: skip
        self.checkpoint = Path(checkpoint) if checkpoint else None
        self.steps, self.cfg_text = steps, cfg_text
        self._loaded = None
        self._lock = threading.Lock()

    @property
    def loaded(self):  # noqa: ANN201 - model_core.checkpoint.LoadedModel (torch is imported lazily)
        with self._lock:
            if self._loaded is None:
                from model_core.checkpoint import load_checkpoint

                self._loaded = load_checkpoint(self.checkpoint)
            return self._loaded

    def version(self) -> str:
        s = self.loaded.sampling(steps=self.steps, cfg_text=self.cfg_text)
        audio = f"-p{s['cfg_picture']:g}" if s["audio_pass"] else ""  # the audio pass changes the sound
        return f"mmdit-{self.loaded.version()}-s{s['steps']}-g{s['cfg_text']:g}-h{s['shift']:g}{audio}"

    def generate(self, request: ShotRequest) -> GeneratedShot:
        from model_core.latents import latent_space
        from model_core.toyworld import BACKGROUND, scene_from_text

        _validate(request)
        loaded = self.loaded
        space = latent_space(loaded.config)
        scene = scene_from_text(request.prompt)
        caption = scene.caption()
        seconds = request.frames / request.fps
        segment = space.frames / space.fps
        n_seg = max(1, math.ceil(seconds / segment - 1e-9))
        with self._lock:  # one sampler at a time per loaded model (torch threads are shared anyway)
            videos, audios = loaded.generate([caption] * n_seg, seed=request.seed, steps=self.steps,
                                             cfg_text=self.cfg_text, batch_size=n_seg)  # fmt: skip
        video = np.concatenate(videos)  # (n_seg * F, h, w, 3) at space.fps
        audio = np.concatenate(audios)  # (n_seg * n,) at space.sample_rate
        src = np.minimum((np.arange(request.frames) * space.fps) // request.fps, len(video) - 1)
        samples = request.frames * (request.sample_rate // request.fps)
        effects = resample_audio(audio, space.sample_rate, request.sample_rate, samples)

        def frames() -> Iterator[np.ndarray]:
            for i in src:
                yield fit_frame(video[i], request.width, request.height, BACKGROUND)

        info = {
            "backend": self.name,
            "version": self.version(),
            "caption": caption,
            "scene": {"colour": scene.colour, "material": scene.material, "count": scene.count,
                      "motion": scene.motion, "speed": scene.speed},  # fmt: skip
            "segments": n_seg,
            "segment_seconds": segment,
            "checkpoint": str(loaded.path),
            "sampler": loaded.sampling(steps=self.steps, cfg_text=self.cfg_text),
            "unmatched_sfx": [c.text if hasattr(c, "text") else str(c) for c in request.sfx],
        }
        return GeneratedShot(frames=frames(), effects=effects, info=info)
