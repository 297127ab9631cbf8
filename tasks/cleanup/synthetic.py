"""Overlays with exact ground truth, drawn onto clean footage: for tests, the benchmark and demos.

Every overlay is an RGBA layer (colour + alpha in 0..1) composited as ``I = α·W + (1−α)·B``; the true mask is
``α > 0``. Subtitles change every ``cue_seconds`` and carry a dark outline like real burned-in captions.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path

import cv2
import numpy as np

LATIN_LINES = ("Where were you last night?", "I told you not to call me", "Nobody leaves this house",
               "You will regret this, Anna", "Say it again. I dare you")  # fmt: skip
CJK_LINES = ("你昨晚去哪儿了？", "我说过别再给我打电话", "谁也不许离开这个家", "你会后悔的", "再说一遍试试")
CYRILLIC_LINES = ("Где ты был вчера?", "Я же просил не звонить", "Никто не уйдёт отсюда")


@dataclass(frozen=True, slots=True)
class Layer:
    """A static overlay: ``colour`` (H, W, 3) float32 0..255 and ``alpha`` (H, W) float32 0..1, full frame."""

    colour: np.ndarray
    alpha: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return self.alpha > 0.02


def composite(frame: np.ndarray, layer: Layer) -> np.ndarray:
    a = layer.alpha[..., None]
    return np.clip(a * layer.colour + (1 - a) * frame.astype(np.float32) + 0.5, 0, 255).astype(np.uint8)


def logo_layer(
    height: int, width: int, *, box: tuple[int, int, int, int], opacity: float, colour: tuple[int, int, int],
    text: str = "REEL", text_colour: tuple[int, int, int] | None = None,
) -> Layer:  # fmt: skip
    """A rounded badge with text in ``box`` (x, y, w, h): a typical channel bug / generator watermark."""
    x, y, w, h = box
    alpha = np.zeros((height, width), np.float32)
    col = np.zeros((height, width, 3), np.float32)
    badge = np.zeros((h * 4, w * 4), np.uint8)
    r = min(h, w)  # drawn 4x larger then reduced: anti-aliased edges
    cv2.rectangle(badge, (r, 0), (w * 4 - r, h * 4 - 1), 255, -1)
    cv2.rectangle(badge, (0, r), (w * 4 - 1, h * 4 - r), 255, -1)
    for cx, cy in ((r, r), (w * 4 - r, r), (r, h * 4 - r), (w * 4 - r, h * 4 - r)):
        cv2.circle(badge, (cx, cy), r, 255, -1)
    glyphs = np.zeros_like(badge)
    scale = h * 4 / 40.0
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_DUPLEX, scale, max(1, int(scale * 2)))
    cv2.putText(glyphs, text, ((w * 4 - tw) // 2, (h * 4 + th) // 2), cv2.FONT_HERSHEY_DUPLEX, scale, 255,
                max(1, int(scale * 2)), cv2.LINE_AA)  # fmt: skip
    badge_a = cv2.resize(badge, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    glyph_a = cv2.resize(glyphs, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    alpha[y : y + h, x : x + w] = badge_a * opacity
    tc = np.array(text_colour if text_colour is not None else (255 - np.array(colour)), np.float32)
    col[y : y + h, x : x + w] = (1 - glyph_a[..., None]) * np.array(colour, np.float32) + glyph_a[
        ..., None
    ] * tc
    return Layer(col, alpha)


@cache
def _font(size: int):  # noqa: ANN202 - PIL font
    import pylopdf_fonts_zh_cn
    from PIL import ImageFont

    path = Path(pylopdf_fonts_zh_cn.__file__).parent / "NotoSansSC-Regular.otf"
    return ImageFont.truetype(str(path), size)


def subtitle_layer(height: int, width: int, text: str, *, colour: tuple[int, int, int] = (255, 255, 255),
                   bottom: float = 0.12, size: float = 0.06) -> Layer:  # fmt: skip
    """One burned-in subtitle line, centred, with a black outline, ``bottom`` (fraction) above the frame edge."""
    from PIL import Image, ImageDraw

    px = max(10, int(round(min(height, width * 9 / 16) * size)))
    font = _font(px)
    stroke = max(1, px // 12)
    img = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    bbox = draw.textbbox((0, 0), text, font=font, stroke_width=stroke)
    tw, th = bbox[2] - bbox[0], bbox[3] - bbox[1]
    x = (width - tw) // 2 - bbox[0]
    y = int(height * (1 - bottom)) - th - bbox[1]
    draw.text((x, y), text, font=font, fill=(*colour, 255), stroke_width=stroke, stroke_fill=(0, 0, 0, 255))
    arr = np.asarray(img).astype(np.float32)
    return Layer(arr[..., :3].copy(), arr[..., 3] / 255)


@dataclass(frozen=True, slots=True)
class SubtitleTrackSpec:
    lines: tuple[str, ...]
    cue_seconds: float = 1.5
    gap_frames: int = 3

    def text_at(self, index: int, fps: Fraction) -> str | None:
        per = max(2, int(round(float(fps) * self.cue_seconds)))
        if index % per >= per - self.gap_frames:
            return None
        return self.lines[(index // per) % len(self.lines)]


def overlay_frames(
    frames: Iterator[np.ndarray], fps: Fraction, *, layers: tuple[Layer, ...] = (), subtitles: SubtitleTrackSpec | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Yield ``(overlaid frame, true mask)`` for each clean frame."""
    cache: dict[str, Layer] = {}
    for i, frame in enumerate(frames):
        out = frame
        mask = np.zeros(frame.shape[:2], bool)
        for layer in layers:
            out = composite(out, layer)
            mask |= layer.mask
        text = subtitles.text_at(i, fps) if subtitles else None
        if text is not None:
            if text not in cache:
                cache[text] = subtitle_layer(frame.shape[0], frame.shape[1], text)
            out = composite(out, cache[text])
            mask |= cache[text].mask
        yield out, mask
