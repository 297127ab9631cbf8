"""A contact sheet of samples beside the world's own clips, to look at before trusting a metric.

For each prompt: its caption, a row of the world's clip (every frame, left to right) with its audio envelope
under it, then a row of the sample with its envelope. World and sample are different realisations of the
prompt, so compare each sample's sound with its *own* picture: a bar should rise where a ball meets the floor
or a wall.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

ENVELOPE_PX = 18  # height of an audio envelope strip
CAPTION_PX = 14


def _envelope(audio: np.ndarray, width: int, peak: float) -> np.ndarray:
    """``(ENVELOPE_PX, width, 3) uint8`` bars of the RMS of ``width // 4`` equal windows of ``audio``."""
    bars = max(1, width // 4)
    edges = np.linspace(0, len(audio), bars + 1).astype(int)  # bar b: samples edges[b] to edges[b+1]
    power = np.concatenate([[0.0], np.cumsum(np.square(audio.astype(np.float64)))])
    rms = np.sqrt((power[edges[1:]] - power[edges[:-1]]) / np.maximum(np.diff(edges), 1))
    img = np.full((ENVELOPE_PX, width, 3), 255, np.uint8)
    img[-1, ::3] = (200, 0, 160)  # the dotted baseline: silence still shows as a strip
    for b, level in enumerate(rms / max(peak, 1e-9)):
        h = int(round(min(1.0, float(level)) * (ENVELOPE_PX - 2)))
        if h:
            img[ENVELOPE_PX - 1 - h : ENVELOPE_PX - 1, b * 4 : b * 4 + 3] = (200, 0, 160)
    return img


def _film(video: np.ndarray, scale: int, gap: int) -> np.ndarray:
    """``(F, H, W, 3)`` → one row of the frames, each enlarged ``scale`` times, ``gap`` px apart."""
    f, h, w, _ = video.shape
    big = video.repeat(scale, axis=1).repeat(scale, axis=2)  # (F, H*s, W*s, 3)
    row = np.full((h * scale + 4, f * (w * scale + gap), 3), 255, np.uint8)
    for i in range(f):
        x = i * (w * scale + gap)
        row[2 : 2 + h * scale, x : x + w * scale] = big[i]
    return row


def contact_sheet(
    path: str | Path,
    captions: Sequence[str],
    world: Sequence[tuple[np.ndarray, np.ndarray]],
    samples: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    scale: int = 2,
    gap: int = 8,
) -> Path:
    """Write a PNG: per prompt, the caption, the world's ``(video, audio)`` and the sample's, with envelopes.

    Videos are ``(F, H, W, 3) uint8``, audio a mono float waveform; both envelopes of a prompt share one
    scale.
    Written to a temporary name and renamed.
    """
    from PIL import Image, ImageDraw

    blocks: list[np.ndarray] = []
    for caption, (wv, wa), (sv, sa) in zip(captions, world, samples, strict=True):
        top, bottom = _film(wv, scale, gap), _film(sv, scale, gap)
        width = top.shape[1]
        peak = float(max(np.sqrt(np.mean(np.square(a))) for a in (wa, sa)) * 3.0)
        head = Image.new("RGB", (width, CAPTION_PX), "white")
        label = f"{caption}  (top: world, bottom: sample; bars: audio envelope)"
        ImageDraw.Draw(head).text((2, 1), label, fill="black")
        blocks += [np.asarray(head), top, _envelope(wa, width, peak), bottom, _envelope(sa, width, peak)]
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.png")
    Image.fromarray(np.concatenate(blocks, axis=0)).save(tmp)
    tmp.replace(out)
    return out
