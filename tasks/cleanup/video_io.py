"""Streaming frame I/O that keeps everything but the pixels.

Frames are decoded one at a time with PyAV (never the whole clip in memory), encoded once through the project's
:class:`~tasks.media.ffmpeg.FrameWriter`, then muxed with the source's audio (stream copy, bit-exact), its attached
picture, its rotation, frame rate, time base and colour tags. The output appears only by atomic rename.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from tasks.cleanup.errors import CleanupError
from tasks.media.ffmpeg import FFmpegError, FrameWriter, MediaError, VideoEncoding, run_ffmpeg
from tasks.media.files import atomic_path
from tasks.media.probe import MediaInfo, probe

ATTACHED_PIC = 1024  # AVStream disposition flag

# Colour tag codes (ITU-T H.273) → ffmpeg option names; "2" (unspecified) and unknown codes are left untagged.
_PRIMARIES = {"1": "bt709", "4": "bt470m", "5": "bt470bg", "6": "smpte170m", "7": "smpte240m", "9": "bt2020"}
_TRC = {"1": "bt709", "4": "gamma22", "5": "gamma28", "6": "smpte170m", "7": "smpte240m", "8": "linear",
        "13": "iec61966-2-1", "14": "bt2020-10", "15": "bt2020-12", "16": "smpte2084", "18": "arib-std-b67"}  # fmt: skip
_SPACE = {"1": "bt709", "4": "fcc", "5": "bt470bg", "6": "smpte170m", "7": "smpte240m", "9": "bt2020nc"}


def _tag(table: dict[str, str], value: str | None) -> str | None:
    if value is None:
        return None
    return table.get(value, value if value in table.values() else None)


@dataclass(frozen=True, slots=True)
class SourceVideo:
    """What must survive a round trip through cleanup or edits."""

    path: Path
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int
    rotation: int
    color_primaries: str | None
    color_trc: str | None
    colorspace: str | None
    color_range: str
    has_audio: bool
    video_index: int
    attached_pic_indices: tuple[int, ...]
    info: MediaInfo


def _rotation(path: Path) -> int:
    """Display rotation in degrees from the first frame's display matrix (0 when there is none)."""
    import av

    try:
        with av.open(str(path)) as c:
            s = next(s for s in c.streams.video if not (s.disposition & ATTACHED_PIC))
            for frame in c.decode(s):
                return int(round(getattr(frame, "rotation", 0) or 0))
    except Exception:  # noqa: BLE001 - rotation is optional metadata
        return 0
    return 0


def open_source(path: str | Path) -> SourceVideo:
    """Probe ``path`` and check it is a video cleanup can stream; raise :class:`CleanupError` otherwise."""
    import av

    path = Path(path)
    try:
        info = probe(path)
    except MediaError as exc:
        raise CleanupError(
            exc.message, file=path, hint=exc.hint or "pass a video file (mp4, mov, mkv)"
        ) from None
    v = info.video
    if v is None:
        raise CleanupError("has no video stream", file=path, hint="pass a video file, not an audio-only file")
    if v.width <= 0 or v.height <= 0 or v.frames <= 0 or not v.fps:
        raise CleanupError(
            f"video stream is unreadable ({v.width}x{v.height}, {v.frames} frames, {v.fps} fps)",
            file=path, hint="the file is probably truncated; re-export or re-download it",
        )  # fmt: skip
    with av.open(str(path)) as c:
        vids = [s for s in c.streams.video if not (s.disposition & ATTACHED_PIC)]
        pics = tuple(s.index for s in c.streams.video if s.disposition & ATTACHED_PIC)
        crange = "pc" if int(getattr(vids[0].codec_context, "color_range", 0) or 0) == 2 else "tv"
        vindex = vids[0].index
    return SourceVideo(
        path=path, width=v.width, height=v.height, fps=v.fps, time_base=v.time_base, frames=v.frames,
        rotation=_rotation(path), color_primaries=_tag(_PRIMARIES, v.color_primaries),
        color_trc=_tag(_TRC, v.color_trc), colorspace=_tag(_SPACE, v.colorspace), color_range=crange,
        has_audio=info.audio is not None, video_index=vindex, attached_pic_indices=pics, info=info,
    )  # fmt: skip


def iter_frames(path: str | Path, *, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """``(index, RGB uint8 frame)`` for every ``step``-th frame of the main video stream, streamed."""
    import av

    path = Path(path)
    index = -1
    try:
        with av.open(str(path)) as c:
            s = next(s for s in c.streams.video if not (s.disposition & ATTACHED_PIC))
            s.thread_type = "AUTO"
            for frame in c.decode(s):
                index += 1
                if index % step == 0:
                    yield index, frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise CleanupError(
            f"decoding failed after frame {index} ({exc})", file=path,
            hint="the file is damaged or truncated; re-export it or trim it to the readable part",
        ) from None  # fmt: skip


@dataclass(frozen=True, slots=True)
class PreservingEncoding(VideoEncoding):
    """The shared encoder settings, but tagged with the source's colour description instead of BT.709."""

    primaries: str | None = None
    trc: str | None = None
    space: str | None = None
    color_range: str = "tv"

    def args(self, fps: Fraction) -> list[str]:
        gop = max(1, int(round(fps * self.gop_seconds)))
        out = [
            "-c:v", self.codec, "-preset", self.preset, "-crf", str(self.crf), "-profile:v", self.profile,
            "-pix_fmt", self.pix_fmt, "-g", str(gop), "-bf", "2", "-color_range", self.color_range,
        ]  # fmt: skip
        x264: list[str] = []
        for flag, key, value in (("-color_primaries", "colorprim", self.primaries), ("-color_trc", "transfer", self.trc),
                                 ("-colorspace", "colormatrix", self.space)):  # fmt: skip
            if value:
                out += [flag, value]
                x264.append(f"{key}={value.replace('bt2020nc', 'bt2020nc')}")
        if x264 and self.codec == "libx264":
            out += ["-x264-params", ":".join(x264)]  # libx264 writes the VUI from its own params
        return out


def encoding_for(src: SourceVideo, crf: int = 16) -> PreservingEncoding:
    return PreservingEncoding(
        crf=crf,
        primaries=src.color_primaries,
        trc=src.color_trc,
        space=src.colorspace,
        color_range=src.color_range,
    )


def write_video(
    src: SourceVideo,
    frames: Iterable[np.ndarray],
    out: str | Path,
    *,
    size: tuple[int, int] | None = None,
    fps: Fraction | None = None,
    audio_filter: str | None = None,
    audio_trim: tuple[Fraction, Fraction] | None = None,
    progress: Callable[[int], None] | None = None,
    crf: int = 16,
) -> int:
    """Encode ``frames`` (RGB uint8) once and mux them with ``src``'s other streams into ``out``, atomically.

    ``size``/``fps`` change the geometry or rate (edits); by default the source's are kept. Audio is stream-copied
    bit-exact unless ``audio_trim`` (start, end seconds) or ``audio_filter`` (e.g. ``atempo=1.25``) require a
    re-encode. Returns the number of frames written.
    """
    out = Path(out)
    width, height = size or (src.width, src.height)
    rate = Fraction(fps) if fps else src.fps
    timescale = src.time_base.denominator if fps is None and src.time_base else None
    with atomic_path(out) as final_tmp:
        video_tmp = final_tmp.with_name(f"{final_tmp.stem}.video.mp4")
        try:
            return _encode_and_mux(src, frames, final_tmp, video_tmp, width, height, rate, timescale,
                                   audio_filter, audio_trim, progress, crf)  # fmt: skip
        finally:
            video_tmp.unlink(missing_ok=True)


def _encode_and_mux(
    src, frames, final_tmp, video_tmp, width, height, rate, timescale, audio_filter, audio_trim, progress, crf
) -> int:  # noqa: ANN001 - private helper of write_video
    out = final_tmp
    extra = ["-video_track_timescale", str(timescale)] if timescale else []
    with FrameWriter(video_tmp, width=width, height=height, fps=rate, encoding=encoding_for(src, crf),
                     extra_output_args=extra) as writer:  # fmt: skip
        for frame in frames:
            writer.write(frame)
            if progress:
                progress(writer.frames)
        written = writer.frames
    if written == 0:
        raise CleanupError("no frames were produced", file=src.path, hint="check the edit list's trim range")
    args: list[str] = []
    if src.rotation:
        args += ["-display_rotation:v:0", str(src.rotation)]
    args += ["-i", str(video_tmp)]
    if audio_trim is not None:
        start, end = audio_trim
        args += ["-ss", f"{float(start):.6f}", "-to", f"{float(end):.6f}"]
    args += ["-i", str(src.path), "-map", "0:v:0"]
    if src.has_audio:
        args += ["-map", "1:a?"]
    for i, idx in enumerate(src.attached_pic_indices):
        args += ["-map", f"1:{idx}", f"-c:v:{i + 1}", "copy", f"-disposition:v:{i + 1}", "attached_pic"]
    args += ["-c:v:0", "copy"]
    if audio_trim is None and audio_filter is None:
        args += ["-c:a", "copy"]
    else:
        args += ["-c:a", "aac", "-b:a", "256k"]
        if audio_filter:
            args += ["-af", audio_filter]
    args += ["-map_metadata", "1", "-movflags", "+faststart", "-f", "mp4", str(final_tmp)]
    try:
        run_ffmpeg(args)
    except FFmpegError as exc:
        if not src.attached_pic_indices:
            raise
        # Some containers refuse to carry a cover image; the pixels and audio matter more than the cover.
        raise CleanupError(
            f"could not mux the attached picture into {out.name}", file=src.path,
            hint=f"remux the input without its cover image (ffmpeg -i IN -map 0:v:0 -map 0:a? -c copy OUT): {exc}",
        ) from None  # fmt: skip
    return written
