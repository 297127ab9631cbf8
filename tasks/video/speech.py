"""Lip flap from the real dialogue audio: a per-frame loudness envelope, quantised to mouth shapes.

The envelope is the RMS of each video frame's samples (1600 at 48 kHz / 30 fps) of the character's own
lines, so the mouth opens on syllables and closes in pauses, exactly in sync with the audio the viewer
hears.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.generate import SpokenLine
from tasks.video.errors import VideoError
from tasks.video.figures import MOUTH_LEVELS

THRESHOLDS = (0.12, 0.4, 0.7)  # envelope → mouth level 1, 2, 3


def read_line_audio(line: SpokenLine, index: int, rate: int) -> np.ndarray:
    """Mono float samples of a line's WAV (the path in ``line.audio``)."""
    from scipy.io import wavfile

    field = f"lines[{index}].audio"
    path = Path(line.audio.removeprefix("file://"))
    if not path.is_file():
        raise VideoError(
            f"the WAV of {line.character}'s line is missing: {path}",
            field=field,
            hint="voice the line first (tasks.audio.voice) or pass audio='' to animate from word timings",
        )
    try:
        sr, data = wavfile.read(str(path), mmap=False)
    except (ValueError, OSError) as exc:
        raise VideoError(
            f"cannot read {path} as WAV: {exc}", field=field, hint="write a PCM or float WAV"
        ) from None
    if sr != rate:
        raise VideoError(
            f"{path} is {sr} Hz, the shot is {rate} Hz", field=field, hint=f"resample it to {rate} Hz"
        )
    samples = np.asarray(data)
    if samples.dtype.kind in "iu":
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max)
    samples = samples.astype(np.float32, copy=False)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    return samples


def _from_words(line: SpokenLine, rate: int) -> np.ndarray:
    """A synthetic envelope when no audio exists yet: syllable-rate pulses over each word (or the
    whole line).
    """
    n = max(line.samples, int(max((w.end for w in line.words), default=0.0) * rate))
    env = np.zeros(n, np.float32)
    spans = [(w.start, w.end) for w in line.words] or [(0.0, n / rate)]
    for start, end in spans:
        a, b = int(start * rate), min(int(end * rate), n)
        if b > a:
            t = np.arange(b - a) / rate
            env[a:b] = 0.25 + 0.75 * np.abs(np.sin(np.pi * 4.0 * t))
    return env


@dataclass(frozen=True, slots=True)
class Speech:
    """Per-character envelope (0..1 per frame) and speaking spans (frame ranges of their lines)."""

    envelopes: dict[str, np.ndarray]
    spans: dict[str, list[tuple[int, int]]]

    def level(self, name: str, k: int) -> int:
        env = self.envelopes.get(name)
        if env is None:
            return 0
        e = float(env[k])
        return int(sum(e >= t for t in THRESHOLDS[: MOUTH_LEVELS - 1]))

    def speaking(self, name: str, k: int) -> bool:
        return any(a <= k < b for a, b in self.spans.get(name, ()))


def speech_for(lines: Sequence[SpokenLine], frames: int, fps: int, rate: int) -> Speech:
    spf = rate // fps
    total = frames * spf
    tracks: dict[str, np.ndarray] = {}
    spans: dict[str, list[tuple[int, int]]] = {}
    for i, line in enumerate(lines):
        if not line.on_screen:
            continue  # a voice-over moves no lips
        audio = read_line_audio(line, i, rate) if line.audio else _from_words(line, rate)
        if line.samples > 0:
            audio = audio[: line.samples]
        a = max(line.start_sample, 0)
        b = min(line.start_sample + len(audio), total)
        if b <= a:
            continue
        track = tracks.setdefault(line.character, np.zeros(total, np.float32))
        track[a:b] += audio[a - line.start_sample : b - line.start_sample]
        spans.setdefault(line.character, []).append((a // spf, -(-b // spf)))
    envelopes = {}
    for name, track in tracks.items():
        rms = np.sqrt(np.mean(track.reshape(frames, spf) ** 2, axis=1))
        voiced = rms[rms > 1e-4]
        ref = float(np.percentile(voiced, 90)) if voiced.size else 1.0
        env = np.clip(rms / max(ref, 1e-4), 0.0, 1.0)
        env = np.convolve(env, np.array([0.25, 0.5, 0.25]), mode="same")  # soften single-frame flicker
        envelopes[name] = env.astype(np.float32)
    return Speech(envelopes, spans)
