"""WAV files in and out, and decoding of any other audio file a producer hands us.

Every sound artifact in the pipeline is a 48 kHz WAV: float32 by default (no clipping of intermediate stems that
peak above full scale before the mix), 24-bit PCM when a delivery wants integer samples. Writes are atomic
(``tasks.media.files.atomic_path``) so a killed render never leaves a half-written WAV in the asset store.
"""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np

from tasks.media.ffmpeg import MediaError
from tasks.media.files import atomic_path

_PCM = 1
_FLOAT = 3


class WavError(MediaError):
    """A WAV (or other audio) file could not be read or written."""


def _as_frames(samples: np.ndarray, path: str | Path) -> np.ndarray:
    """(n,) or (n, channels) float array, checked; WAV stores interleaved frames."""
    data = np.asarray(samples)
    if data.ndim not in (1, 2) or (data.ndim == 2 and not 1 <= data.shape[1] <= 8):
        raise WavError(
            f"cannot write audio of shape {data.shape}",
            file=path,
            hint="pass (n,) mono or (n, channels) samples",
        )
    if not np.issubdtype(data.dtype, np.floating):
        raise WavError(
            f"expected float samples, got {data.dtype}", file=path, hint="scale integer audio to [-1, 1]"
        )
    if not np.all(np.isfinite(data)):
        raise WavError(
            "samples contain NaN or infinity", file=path, hint="check the synthesis or mix that made them"
        )
    return data.reshape(len(data), -1)


def write_wav(path: str | Path, samples: np.ndarray, rate: int = 48_000, *, pcm24: bool = False) -> Path:
    """Write ``samples`` (float, (n,) or (n, ch)) as float32 WAV, or as 24-bit PCM (clipped to ±1) if ``pcm24``."""
    path = Path(path)
    frames = _as_frames(samples, path)
    channels = frames.shape[1]
    if pcm24:
        ints = np.round(np.clip(frames, -1.0, 1.0 - 2**-23) * 2**23).astype("<i4")
        payload = ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()  # little-endian: drop the top byte
        fmt, width = _PCM, 3
    else:
        payload = frames.astype("<f4").tobytes()
        fmt, width = _FLOAT, 4
    block = channels * width
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, width * 8)
    if fmt == _FLOAT:
        fmt_chunk += struct.pack("<H", 0)  # cbSize: non-PCM formats carry it (and a fact chunk)
    chunks = b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
    if fmt == _FLOAT:
        chunks += b"fact" + struct.pack("<II", 4, len(frames))
    chunks += b"data" + struct.pack("<I", len(payload)) + payload
    if len(payload) % 2:
        chunks += b"\0"
    with atomic_path(path) as tmp:
        tmp.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WAVE" + chunks)
    return path


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(samples float32, rate). Mono files give (n,), others (n, channels). PCM 8/16/24/32-bit and float."""
    import scipy.io.wavfile

    path = Path(path)
    if not path.is_file():
        raise WavError(
            f"no such WAV file: {path}", file=path, hint="check the path, or re-run the step that writes it"
        )
    try:
        with (
            warnings.catch_warnings()
        ):  # fact/LIST/bext chunks are normal in WAVs; scipy warns and skips them
            warnings.simplefilter("ignore", scipy.io.wavfile.WavFileWarning)
            rate, data = scipy.io.wavfile.read(path)
    except (ValueError, OSError, EOFError, struct.error) as exc:
        raise WavError(
            f"not a readable WAV file ({exc})",
            file=path,
            hint="re-export it as PCM or float WAV, or pass an MP3/FLAC",
        ) from None
    if data.dtype == np.uint8:
        out = (data.astype(np.float32) - 128.0) / 128.0
    elif np.issubdtype(data.dtype, np.integer):
        out = data.astype(np.float32) / float(
            2 ** (8 * data.dtype.itemsize - 1)
        )  # scipy left-aligns 24-bit in int32
    else:
        out = data.astype(np.float32)
    return out, int(rate)


def read_audio(path: str | Path, rate: int = 48_000) -> np.ndarray:
    """Any audio file (WAV, MP3, FLAC, AAC, an MP4's sound) as (n, 2) float32 at ``rate``.

    WAVs at ``rate`` are read directly; everything else is decoded and resampled with PyAV (FFmpeg's libswresample).
    """
    path = Path(path)
    if not path.is_file():
        raise WavError(f"no such audio file: {path}", file=path, hint="check the path")
    if path.suffix.lower() == ".wav":
        try:
            data, file_rate = read_wav(path)
        except WavError:
            data, file_rate = None, 0
        if data is not None and file_rate == rate:
            return _stereo(data)
    return _decode(path, rate)


def _stereo(data: np.ndarray) -> np.ndarray:
    if data.ndim == 1:
        return np.repeat(data[:, None], 2, axis=1).astype(np.float32)
    if data.shape[1] == 1:
        return np.repeat(data, 2, axis=1).astype(np.float32)
    return np.ascontiguousarray(data[:, :2], dtype=np.float32)


def _decode(path: Path, rate: int) -> np.ndarray:
    import av

    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise WavError(
                    "the file has no audio stream", file=path, hint="pass a music file (WAV, MP3, FLAC, M4A)"
                )
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
            for frame in container.decode(container.streams.audio[0]):
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
            chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise WavError(
            f"not a readable audio file ({exc})", file=path, hint="re-export it as WAV, MP3 or FLAC"
        ) from None
    if not chunks:
        raise WavError("the audio stream decodes to no samples", file=path, hint="re-export the file")
    return np.ascontiguousarray(np.concatenate(chunks, axis=1).T, dtype=np.float32)
