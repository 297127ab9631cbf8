"""Render one shot: the backend generates picture and effects, subtitles are burned in, frames are encoded once."""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction

import numpy as np

from schemas.generate import ShotRequest
from schemas.media import ShotArtifact
from storage.assets import LocalAssetStore, code_version, content_key
from tasks.generate.protocol import GenerationBackend
from tasks.media.ffmpeg import FrameWriter, MediaError, VideoEncoding

ENCODING = VideoEncoding()


def shot_key(request: ShotRequest, backend: GenerationBackend, cues: Sequence[object]) -> str:
    return content_key(
        "shot", request, list(cues), backend.name, backend.version(), ENCODING,
        code_version("tasks.generate.shot", "tasks.assembly.subtitles", "tasks.video.text", "tasks.media.ffmpeg"),
    )  # fmt: skip


def render_shot(
    store: LocalAssetStore,
    request: ShotRequest,
    backend: GenerationBackend,
    cues: Sequence[object] = (),
) -> ShotArtifact:
    """Generate ``request`` with ``backend``; burn ``cues`` (subtitle cues in shot-local frames); encode once.

    The MP4 and the effects WAV appear in the store only when complete, so a killed render resumes here.
    """
    from tasks.assembly.subtitles import SubtitleRenderer
    from tasks.audio.wav import write_wav

    key = shot_key(request, backend, cues)
    video, fx, meta = (store.path("shots", key, s) for s in (".mp4", ".fx.wav", ".json"))
    if video.is_file() and fx.is_file() and meta.is_file():
        info = json.loads(meta.read_text(encoding="utf-8"))
        return ShotArtifact(
            shot_id=request.shot.id, key=key, video=str(video), effects=str(fx), frames=request.frames,
            cached=True, unmatched_sfx=tuple(info.get("unmatched_sfx", ())),
        )  # fmt: skip
    generated = backend.generate(request)
    expected = request.frames * (request.sample_rate // request.fps)
    effects = np.asarray(generated.effects, dtype=np.float32)
    if effects.ndim != 2 or effects.shape[1] != 2 or len(effects) < expected:  # longer: a tail rings past the cut
        raise MediaError(
            f"backend {backend.name!r} returned effects of shape {effects.shape} for shot {request.shot.id}, "
            f"expected ({expected}, 2) or longer"
        )
    subtitles = SubtitleRenderer(request.width, request.height, cues=cues) if cues else None
    with store.writing("shots", key, ".fx.wav") as tmp:
        write_wav(tmp, effects, request.sample_rate)
    with store.writing("shots", key, ".mp4") as tmp:
        with FrameWriter(tmp, width=request.width, height=request.height, fps=Fraction(request.fps), encoding=ENCODING) as writer:
            for index, frame in enumerate(generated.frames):
                if index >= request.frames:
                    raise MediaError(f"backend {backend.name!r} yielded more than {request.frames} frames for {request.shot.id}")
                writer.write(subtitles.burn(frame, index) if subtitles else frame)
        if writer.frames != request.frames:
            raise MediaError(
                f"backend {backend.name!r} yielded {writer.frames} frames for shot {request.shot.id}, expected {request.frames}"
            )
    unmatched = tuple(generated.info.get("unmatched_sfx", ()))
    with store.writing("shots", key, ".json") as tmp:
        tmp.write_text(json.dumps({"unmatched_sfx": unmatched, "backend": backend.name}, ensure_ascii=False))
    return ShotArtifact(
        shot_id=request.shot.id, key=key, video=str(video), effects=str(fx), frames=request.frames,
        cached=False, unmatched_sfx=unmatched,
    )  # fmt: skip
