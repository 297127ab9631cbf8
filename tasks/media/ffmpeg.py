"""The one ffmpeg wrapper.

Every ffmpeg call in Reelwright goes through :func:`run_ffmpeg` (argv list, never a shell string; a timeout;
stderr captured) or :class:`FrameWriter` (raw RGB frames piped into one encode). Failures raise
:class:`FFmpegError` carrying the command and the tail of stderr.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np

from schemas.errors import ReelwrightError


class MediaError(ReelwrightError):
    """A media file could not be read, decoded or written."""


class FFmpegError(MediaError):
    """ffmpeg exited non-zero or timed out."""

    def __init__(self, message: str, *, argv: Sequence[str], stderr: str, hint: str | None = None) -> None:
        self.argv = list(argv)
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        super().__init__(f"{message}\n  command: {' '.join(self.argv)}\n  ffmpeg said:\n{tail}", hint=hint)


@cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: the static build shipped by the ``imageio-ffmpeg`` wheel, else PATH."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # noqa: BLE001 - fall back to the system binary
        found = shutil.which("ffmpeg")
        if not found:
            raise MediaError(
                "ffmpeg was not found", hint="install the project (`make install`), which brings imageio-ffmpeg"
            ) from None
        return found


def run_ffmpeg(args: Sequence[str], *, timeout: float = 600.0, input_bytes: bytes | None = None) -> str:
    """Run ``ffmpeg -hide_banner -nostdin -y <args>``; return stderr. Raise FFmpegError on failure."""
    argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", *map(str, args)]
    if input_bytes is not None:
        argv.remove("-nostdin")
    try:
        proc = subprocess.run(argv, input=input_bytes, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"ffmpeg timed out after {timeout:.0f} s", argv=argv, stderr=str(exc.stderr or "")) from None
    stderr = proc.stderr.decode("utf-8", "replace")
    if proc.returncode != 0:
        raise FFmpegError(f"ffmpeg failed (exit {proc.returncode})", argv=argv, stderr=stderr)
    return stderr


@dataclass(frozen=True, slots=True)
class VideoEncoding:
    """Encoder settings shared by every shot so shots join by stream copy (ARCHITECTURE rule 6)."""

    codec: str = "libx264"
    preset: str = "veryfast"
    crf: int = 20
    profile: str = "high"
    pix_fmt: str = "yuv420p"
    gop_seconds: int = 2

    def args(self, fps: Fraction) -> list[str]:
        gop = max(1, int(round(fps * self.gop_seconds)))
        return [
            "-c:v", self.codec, "-preset", self.preset, "-crf", str(self.crf), "-profile:v", self.profile,
            "-pix_fmt", self.pix_fmt, "-g", str(gop), "-bf", "2",
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv",
            "-x264-params", "colorprim=bt709:transfer=bt709:colormatrix=bt709",
        ]  # fmt: skip


class FrameWriter:
    """Pipe raw RGB24 frames into one ffmpeg encode.

    Use as a context manager; frames are ``(H, W, 3) uint8`` arrays. The output is written to ``path`` as given:
    callers pass a temporary path and rename it (see :func:`tasks.media.files.atomic_path`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        fps: Fraction,
        encoding: VideoEncoding = VideoEncoding(),
        extra_output_args: Sequence[str] = (),
        timeout: float = 3600.0,
    ) -> None:
        self.path = Path(path)
        self.width, self.height, self.fps = width, height, Fraction(fps)
        self.argv = [
            ffmpeg_exe(), "-hide_banner", "-y", "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
            "-r", f"{self.fps.numerator}/{self.fps.denominator}", "-i", "pipe:0",
            "-an", *encoding.args(self.fps), *extra_output_args, "-f", "mp4", str(self.path),
        ]  # fmt: skip
        self.timeout = timeout
        self.frames = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: list[bytes] = []

    def __enter__(self) -> FrameWriter:
        self._proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        proc = self._proc
        reader = threading.Thread(target=lambda: self._stderr.append(proc.stderr.read()), daemon=True)
        reader.start()
        self._reader = reader
        return self

    def write(self, frame: np.ndarray) -> None:
        if frame.shape != (self.height, self.width, 3) or frame.dtype != np.uint8:
            raise MediaError(
                f"frame {self.frames} has shape {frame.shape} {frame.dtype}, "
                f"expected ({self.height}, {self.width}, 3) uint8"
            )
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(np.ascontiguousarray(frame).data)
        except BrokenPipeError:
            self._finish(abort=True)
        self.frames += 1

    def _finish(self, *, abort: bool) -> None:
        assert self._proc is not None
        if self._proc.stdin and not self._proc.stdin.closed:
            try:
                self._proc.stdin.close()
            except BrokenPipeError:
                pass
        if abort:
            self._proc.kill()
        try:
            code = self._proc.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            code = -9
        self._reader.join(timeout=5)
        stderr = b"".join(self._stderr).decode("utf-8", "replace")
        if code != 0 and not abort:
            raise FFmpegError(f"encoding {self.path.name} failed (exit {code})", argv=self.argv, stderr=stderr)
        if code != 0 and abort and stderr.strip():
            raise FFmpegError(f"encoder for {self.path.name} stopped early", argv=self.argv, stderr=stderr)

    def __exit__(self, exc_type, exc, tb) -> None:
        self._finish(abort=exc_type is not None)
