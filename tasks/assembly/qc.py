"""QC measured from the delivered file itself: container facts by probing, loudness by decoding its audio."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from schemas.delivery import DeliverySpec
from tasks.media.probe import probe


def decode_audio(path: str | Path, rate: int = 48_000) -> np.ndarray:
    """The first audio stream as ``(n, channels) float32`` at ``rate``, decoded in-process with PyAV."""
    import av

    chunks = []
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=rate)
        for frame in container.decode(stream):
            for out in resampler.resample(frame):
                chunks.append(out.to_ndarray())
        for out in resampler.resample(None):
            chunks.append(out.to_ndarray())
    if not chunks:
        return np.zeros((0, 2), np.float32)
    return np.concatenate(chunks, axis=1).T.astype(np.float32)


def audio_duration(path: str | Path) -> float:
    """Seconds of decodable audio: the sum of the decoded frames' sample counts (priming trimmed by the decoder)."""
    import av

    samples, rate = 0, 48_000
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or rate
        for frame in container.decode(stream):
            samples += frame.samples
    return samples / rate


def measure_qc(path: str | Path, spec: DeliverySpec | None = None) -> dict:
    """Facts about ``path`` and a pass/fail list against ``spec``."""
    from tasks.audio.mix import measure

    spec = spec or DeliverySpec()
    info = probe(path, count_frames=True)
    v, a = info.video, info.audio
    sidecar = Path(str(path) + ".loudness.json")
    if a and sidecar.is_file():
        # Written by assembly when it measured this very file; the decoded length comes from the stream.
        measured = json.loads(sidecar.read_text())
        lufs, tp = measured["integrated_lufs"], measured["true_peak_dbtp"]
        audio_seconds = audio_duration(path)
    else:
        audio = decode_audio(path) if a else np.zeros((0, 2), np.float32)
        lufs, tp = measure(audio) if len(audio) else (float("-inf"), float("-inf"))
        audio_seconds = len(audio) / 48_000
    video_seconds = float(v.frames / v.fps) if v and v.fps else 0.0
    checks = {
        "resolution": bool(v and (v.width, v.height) == (spec.width, spec.height)),
        "fps": bool(v and v.fps == spec.fps),
        "video_codec": bool(v and v.codec == "h264" and (v.profile or "").lower().startswith("high")),
        "pix_fmt": bool(v and v.pix_fmt == "yuv420p"),
        "bt709": bool(v and v.color_primaries in ("bt709", "1") and v.colorspace in ("bt709", "1")),
        "audio_codec": bool(a and a.codec == "aac" and a.sample_rate == 48_000 and a.channels == 2),
        "loudness": abs(lufs - spec.loudness_lufs) <= spec.loudness_tolerance,
        "true_peak": tp <= spec.true_peak_dbtp,
        "av_length_match": abs(audio_seconds - video_seconds) <= 0.05,
        "duration": spec.min_seconds <= video_seconds <= spec.max_seconds,
    }
    facts = {
        "file": Path(path).name,
        "size_bytes": info.size_bytes,
        "duration_s": round(video_seconds, 3),
        "audio_duration_s": round(audio_seconds, 3),
        "width": v.width if v else None,
        "height": v.height if v else None,
        "fps": str(v.fps) if v else None,
        "frames": v.frames if v else 0,
        "video_codec": v.codec if v else None,
        "video_profile": v.profile if v else None,
        "pix_fmt": v.pix_fmt if v else None,
        "color": {"primaries": v.color_primaries, "trc": v.color_trc, "matrix": v.colorspace} if v else None,
        "audio": asdict(a) if a else None,
        "integrated_lufs": round(float(lufs), 2),
        "true_peak_dbtp": round(float(tp), 2),
    }
    failed = [k for k, ok in checks.items() if not ok]
    return {**facts, "checks": checks, "passed": not failed, "failed": failed}
