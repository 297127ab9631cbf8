"""Probe media files in-process with PyAV; results are frozen slotted dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from tasks.media.ffmpeg import MediaError


@dataclass(frozen=True, slots=True)
class VideoInfo:
    codec: str
    profile: str | None
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frames: int
    duration: float
    pix_fmt: str | None
    color_primaries: str | None
    color_trc: str | None
    colorspace: str | None
    rotation: int


@dataclass(frozen=True, slots=True)
class AudioInfo:
    codec: str
    sample_rate: int
    channels: int
    duration: float


@dataclass(frozen=True, slots=True)
class MediaInfo:
    path: str
    size_bytes: int
    format: str
    duration: float
    video: VideoInfo | None
    audio: AudioInfo | None


def _enum_name(value: object) -> str | None:
    if value is None:
        return None
    name = getattr(value, "name", None)
    return str(name if name is not None else value).lower()


def probe(path: str | Path, *, count_frames: bool = False) -> MediaInfo:
    """Facts about a media file. ``count_frames`` decodes packet headers to count video frames exactly."""
    import av

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"no such media file: {path}", hint="check the path")
    if path.stat().st_size == 0:
        raise MediaError(f"{path} is empty (0 bytes)", hint="re-export or re-download the file")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as exc:  # type: ignore[attr-defined]
        raise MediaError(f"{path} is not a readable media file ({exc})", hint="check the file is a video/audio file") from None
    with container:
        duration = float(container.duration / 1_000_000) if container.duration else 0.0
        video = audio = None
        vstreams = [s for s in container.streams.video if not (s.disposition & 1024)]  # skip attached pictures
        if vstreams:
            s = vstreams[0]
            cc = s.codec_context
            fps = Fraction(s.average_rate) if s.average_rate else Fraction(0)
            frames = s.frames
            if count_frames or not frames:
                frames = sum(1 for p in container.demux(s) if p.size > 0)
            rotation = 0
            try:
                rotation = int(getattr(s, "side_data", {}).get("DISPLAYMATRIX", 0) or 0)
            except Exception:  # noqa: BLE001 - side data is optional
                rotation = 0
            vdur = float(s.duration * s.time_base) if s.duration else (frames / fps if fps else duration)
            video = VideoInfo(
                codec=cc.name, profile=cc.profile, width=cc.width, height=cc.height, fps=fps,
                time_base=Fraction(s.time_base) if s.time_base else Fraction(0), frames=int(frames),
                duration=float(vdur), pix_fmt=cc.format.name if cc.format else None,
                color_primaries=_enum_name(getattr(cc, "color_primaries", None)),
                color_trc=_enum_name(getattr(cc, "color_trc", None)),
                colorspace=_enum_name(getattr(cc, "colorspace", None)), rotation=rotation,
            )  # fmt: skip
        if container.streams.audio:
            a = container.streams.audio[0]
            acc = a.codec_context
            adur = float(a.duration * a.time_base) if a.duration else duration
            audio = AudioInfo(codec=acc.name, sample_rate=acc.sample_rate, channels=acc.channels, duration=adur)
        return MediaInfo(
            path=str(path), size_bytes=path.stat().st_size, format=container.format.name,
            duration=duration, video=video, audio=audio,
        )  # fmt: skip
