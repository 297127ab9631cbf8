"""The latent space of the ``tiny`` preset: fixed, documented transforms between toy clips and model tensors.

Nothing here is learnt, so nothing can drift between training and sampling, and every decode is listenable /
viewable. The transforms are derived from a :class:`~model_core.config.ModelConfig` (see :func:`latent_space`):

**Video** — RGB pixels scaled to ``[-1, 1]``, area-downsampled by an integer ``factor`` (the toy world renders
32x32 px; a 16x16 latent means ``factor = 2``). ``encode_video``: ``(F, H, W, 3) uint8 → (3, F, H/f, W/f)``.
``decode_video`` clamps to ``[-1, 1]`` and repeats each latent pixel ``f x f`` times, so
``encode_video(decode_video(z)) == z`` exactly for any ``z`` in range (the decoder is a right inverse), while
``decode_video(encode_video(x))`` loses only detail finer than ``f`` px.

**Audio** — ``C`` = ``cfg.audio.channels`` log band energies per latent step. The waveform (``sample_rate`` Hz) is
cut into Hann frames of ``n_fft`` samples centred on ``m * hop`` (``hop = sample_rate / cfg.audio.latent_rate``,
so audio step ``m`` sits at ``m / latent_rate`` seconds — the same clock as video frame ``k`` at ``k / fps``).
The power spectrum is averaged inside ``C`` log-spaced bands and stored as
``z = (log10(E + 1e-7) + 4.8) / 2.2`` — silence is ``-1``, a loud impact about ``+1``.
``decode_audio`` spreads each band's energy evenly over its FFT bins and recovers a waveform with Griffin-Lim
(phase is not stored); decoded audio is band-limited noise with the right envelope and spectral shape per band:
impacts stay at the same times and materials keep their bright/dull character, fine pitch is lost. It is honest
about what it is: ``encode_audio(decode_audio(z)) ≈ z`` (tested), not a neural vocoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from model_core.config import ModelConfig, ModelError
from model_core.toyworld import WorldSpec

WORLD_SIZE = 32  # px: the toy world's box; the video latent is WORLD_SIZE / factor
AUDIO_SAMPLE_RATE = 8000
_EPS = 1e-7
_LOG_OFFSET, _LOG_SCALE = -4.8, 2.2  # log10 energy -7 (silence) -> -1, about -2.6 (a loud impact) -> +1


class LatentError(ModelError):
    """A tensor that does not fit the latent space (wrong shape or channel count)."""


@dataclass(frozen=True)
class ToyLatentSpace:
    """Video and audio transforms for one model config (see the module docstring)."""

    fps: int
    frames: int
    latent_height: int
    latent_width: int
    audio_rate: int  # latent steps per second
    audio_length: int  # latent steps per clip
    bands: int
    sample_rate: int = AUDIO_SAMPLE_RATE
    n_fft: int = 256
    f_min: float = 60.0

    # ----------------------------------------------------------------------------------------------- geometry
    @property
    def factor(self) -> int:
        return WORLD_SIZE // self.latent_height

    @property
    def hop(self) -> int:
        return self.sample_rate // self.audio_rate

    @property
    def world(self) -> WorldSpec:
        return WorldSpec(width=WORLD_SIZE, height=WORLD_SIZE, fps=self.fps, frames=self.frames,
                         sample_rate=self.sample_rate)  # fmt: skip

    @property
    def video_shape(self) -> tuple[int, int, int, int]:
        """(C, F, H, W) of one clip's video latent."""
        return (3, self.frames, self.latent_height, self.latent_width)

    @property
    def audio_shape(self) -> tuple[int, int]:
        """(C, N) of one clip's audio latent."""
        return (self.bands, self.audio_length)

    @cached_property
    def band_edges(self) -> np.ndarray:
        """``bands + 1`` edges in Hz, log-spaced from ``f_min`` to Nyquist."""
        return np.geomspace(self.f_min, self.sample_rate / 2, self.bands + 1)

    @cached_property
    def _band_of_bin(self) -> np.ndarray:
        """Band index of every FFT bin (``-1`` outside all bands)."""
        freqs = np.fft.rfftfreq(self.n_fft, 1 / self.sample_rate)
        idx = np.searchsorted(self.band_edges, freqs, side="right") - 1
        idx[freqs >= self.band_edges[-1]] = self.bands - 1  # Nyquist belongs to the top band
        idx[(idx < 0) | (freqs < self.band_edges[0])] = -1
        return idx

    @cached_property
    def _band_matrix(self) -> np.ndarray:
        """(bins, bands) averaging matrix: band energy = mean power of its bins."""
        m = np.zeros((self.n_fft // 2 + 1, self.bands))
        for b in range(self.bands):
            sel = self._band_of_bin == b
            if not sel.any():
                raise LatentError(
                    f"audio band {b} ({self.band_edges[b]:.0f}-{self.band_edges[b + 1]:.0f} Hz) holds no FFT bin",
                    hint="use fewer audio channels or a larger n_fft",
                )
            m[sel, b] = 1.0 / sel.sum()
        return m

    @cached_property
    def _window(self) -> np.ndarray:
        return np.hanning(self.n_fft + 1)[:-1]

    # ----------------------------------------------------------------------------------------------- video
    def encode_video(self, video: np.ndarray) -> np.ndarray:
        """``(..., F, H, W, 3) uint8`` → ``(..., 3, F, H/f, W/f) float32`` in ``[-1, 1]``."""
        v = np.asarray(video)
        f = self.factor
        if v.ndim < 4 or v.shape[-1] != 3 or v.shape[-3] != self.latent_height * f or v.shape[-2] != self.latent_width * f:
            raise LatentError(
                f"video of shape {v.shape} does not fit the latent space "
                f"(expected (..., F, {self.latent_height * f}, {self.latent_width * f}, 3))"
            )
        x = v.astype(np.float32) / 127.5 - 1.0
        *lead, frames, h, w, c = x.shape
        x = x.reshape(*lead, frames, h // f, f, w // f, f, c).mean(axis=(-4, -2))  # (..., F, h, w, 3)
        return np.ascontiguousarray(np.moveaxis(x, -1, -4))  # (..., 3, F, h, w)

    def decode_video(self, latent: np.ndarray) -> np.ndarray:
        """``(..., 3, F, h, w)`` → ``(..., F, h*f, w*f, 3) uint8`` (nearest-neighbour upsampling)."""
        z = np.asarray(latent, np.float32)
        if z.ndim < 4 or z.shape[-4] != 3:
            raise LatentError(f"video latent of shape {z.shape} does not have 3 channels at axis -4")
        x = np.moveaxis(np.clip(z, -1.0, 1.0), -4, -1)  # (..., F, h, w, 3)
        f = self.factor
        if f > 1:
            x = np.repeat(np.repeat(x, f, axis=-3), f, axis=-2)
        return np.clip(np.rint((x + 1.0) * 127.5), 0, 255).astype(np.uint8)

    # ----------------------------------------------------------------------------------------------- audio
    def _stft(self, audio: np.ndarray, frames: int) -> np.ndarray:
        """``(..., n)`` → complex ``(..., frames, bins)``; frame ``m`` is centred on sample ``m * hop``."""
        half = self.n_fft // 2
        pad_end = max(0, (frames - 1) * self.hop + half - audio.shape[-1] + 1)
        x = np.pad(audio, [(0, 0)] * (audio.ndim - 1) + [(half, pad_end)])
        idx = np.arange(frames)[:, None] * self.hop + np.arange(self.n_fft)[None, :]
        return np.fft.rfft(x[..., idx] * self._window, axis=-1) / self._window.sum()

    def _istft(self, spec: np.ndarray, length: int) -> np.ndarray:
        frames = spec.shape[-2]
        half = self.n_fft // 2
        seg = np.fft.irfft(spec * self._window.sum(), n=self.n_fft, axis=-1) * self._window
        total = (frames - 1) * self.hop + self.n_fft
        out = np.zeros(spec.shape[:-2] + (total,))
        norm = np.zeros(total)
        for m in range(frames):
            out[..., m * self.hop : m * self.hop + self.n_fft] += seg[..., m, :]
            norm[m * self.hop : m * self.hop + self.n_fft] += self._window**2
        out = out / np.maximum(norm, 1e-3)
        out = out[..., half : half + length]
        if out.shape[-1] < length:
            out = np.pad(out, [(0, 0)] * (out.ndim - 1) + [(0, length - out.shape[-1])])
        return out

    def band_energies(self, audio: np.ndarray, frames: int | None = None) -> np.ndarray:
        """``(..., n)`` waveform → ``(..., bands, frames)`` linear band energies."""
        a = np.asarray(audio, np.float64)
        frames = frames or a.shape[-1] // self.hop
        power = np.abs(self._stft(a, frames)) ** 2  # (..., frames, bins)
        return np.swapaxes(power @ self._band_matrix, -1, -2)

    def encode_audio(self, audio: np.ndarray) -> np.ndarray:
        """``(..., n)`` float waveform at ``sample_rate`` → ``(..., bands, n / hop) float32``."""
        a = np.asarray(audio)
        if a.shape[-1] % self.hop:
            raise LatentError(f"audio length {a.shape[-1]} is not a multiple of the hop {self.hop}")
        energy = self.band_energies(a)
        return ((np.log10(energy + _EPS) - _LOG_OFFSET) / _LOG_SCALE).astype(np.float32)

    def decode_audio(self, latent: np.ndarray, *, iterations: int = 32, seed: int = 0) -> np.ndarray:
        """``(..., bands, N)`` → ``(..., N * hop) float32`` waveform (Griffin-Lim, deterministic by ``seed``)."""
        z = np.asarray(latent, np.float64)
        if z.ndim < 2 or z.shape[-2] != self.bands:
            raise LatentError(f"audio latent of shape {z.shape} does not have {self.bands} bands at axis -2")
        frames = z.shape[-1]
        length = frames * self.hop
        energy = np.maximum(10.0 ** (_LOG_SCALE * np.clip(z, -1.5, 2.0) + _LOG_OFFSET) - _EPS, 0.0)  # (..., bands, N)
        bins = self._band_of_bin
        power = np.where(bins >= 0, np.take(np.swapaxes(energy, -1, -2), np.maximum(bins, 0), axis=-1), 0.0)
        mag = np.sqrt(power)  # (..., N, bins)
        rng = np.random.default_rng(seed)
        phase = np.exp(2j * np.pi * rng.random(mag.shape))
        wave = self._istft(mag * phase, length)
        for _ in range(iterations):
            spec = self._stft(wave, frames)
            wave = self._istft(mag * np.exp(1j * np.angle(spec)), length)
        return np.clip(wave, -1.0, 1.0).astype(np.float32)


def latent_space(cfg: ModelConfig) -> ToyLatentSpace:
    """The toy latent space that fits ``cfg`` (the ``tiny`` preset), or a :class:`LatentError` saying why not."""
    s = cfg.sample_size
    fps = cfg.video.latent_rate
    rate = cfg.audio.latent_rate
    problems = []
    if fps != int(fps) or rate != int(rate):
        problems.append(f"latent rates must be whole numbers (video {fps}, audio {rate})")
    if WORLD_SIZE % s.height or WORLD_SIZE % s.width or s.height != s.width:
        problems.append(f"the video latent {s.height}x{s.width} must be square and divide {WORLD_SIZE} px")
    if rate and AUDIO_SAMPLE_RATE % int(rate):
        problems.append(f"audio.latent_rate={rate} must divide the {AUDIO_SAMPLE_RATE} Hz sample rate")
    if cfg.video.channels != 3:
        problems.append(f"video.channels={cfg.video.channels}, the pixel latent has 3 (RGB)")
    if not problems and abs(s.frames / fps * rate - s.audio_length) > 1e-9:
        problems.append(
            f"sample_size: {s.frames} frames at {fps:g} fps last {s.frames / fps:g} s but audio_length={s.audio_length} "
            f"steps at {rate:g}/s last {s.audio_length / rate:g} s"
        )
    if problems:
        raise LatentError(
            f"model config {cfg.name!r} does not fit the toy latent space: " + "; ".join(problems),
            hint="use the tiny preset (RGB pixel video latent, band-energy audio latent)",
        )
    return ToyLatentSpace(
        fps=int(fps), frames=s.frames, latent_height=s.height, latent_width=s.width, audio_rate=int(rate),
        audio_length=s.audio_length, bands=cfg.audio.channels,
    )  # fmt: skip
