"""The episode cover: a frame of the episode with the title (and episode number) set in the CJK-capable font.

Short-drama apps show covers in a 3:4 or 9:16 grid at thumbnail size, so the title is big, outlined and
sits in the lower part of the image over a darkening gradient.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from schemas.errors import ReelwrightError
from tasks.media.files import write_bytes_atomic
from tasks.video.text import FontError, Sprite, load_font, missing_glyphs, text_rgba, wrap_to_width


class CoverError(ReelwrightError):
    """The cover image could not be made."""


def _episode_label(episode: int, title: str) -> str:
    cjk = any("\u4e00" <= ch <= "\u9fff" for ch in title)
    return f"第{episode}集" if cjk else f"EP {episode}"


def compose_cover(
    frame: np.ndarray, title: str, episode: int | None = None, *, font: str | None = None
) -> np.ndarray:
    """The cover as an RGB array the size of ``frame``."""
    if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
        raise CoverError(
            f"the cover frame must be (H, W, 3) uint8, got {frame.shape} {frame.dtype}",
            field="frame",
            hint="pass one decoded RGB frame of the episode",
        )
    if not title.strip():
        raise CoverError("the cover needs a title", field="title", hint="pass the episode or series title")
    h, w = frame.shape[:2]
    out = frame.copy()
    # Darken the lower half so white type reads on any frame.
    ramp = np.clip((np.arange(h, dtype=np.float32) / h - 0.45) / 0.55, 0.0, 1.0) ** 1.2 * 0.7
    out = (out.astype(np.float32) * (1.0 - ramp[:, None, None])).astype(np.uint8)
    size = max(18, int(w * 0.1))
    face = load_font(font, size)
    missing = missing_glyphs(face, title)
    if missing:
        raise FontError(
            f"the cover font has no glyph for {''.join(missing)!r}",
            field="font",
            hint="use Noto Sans SC (pip install pylopdf-fonts-zh-cn)",
        )
    lines = wrap_to_width(title.strip(), face, w * 0.86, 3)
    title_rgba = text_rgba(
        lines,
        face,
        fill=(255, 255, 255),
        outline=(20, 10, 10),
        outline_width=max(2, size // 14),
        shadow=max(3, size // 10),
        line_gap=0.15,
    )
    bottom = int(h * 0.86)
    y = bottom - title_rgba.shape[0]
    Sprite.from_rgba(title_rgba, (w - title_rgba.shape[1]) // 2, y).blend(out)
    if episode is not None:
        small = load_font(font, max(14, size // 2))
        label = text_rgba(
            [_episode_label(episode, title)],
            small,
            fill=(255, 255, 255),
            box=(214, 40, 57, 235),
            padding=max(6, size // 6),
        )
        Sprite.from_rgba(label, (w - label.shape[1]) // 2, y - label.shape[0] - size // 4).blend(out)
    return out


def make_cover(
    frame: np.ndarray, title: str, episode: int | None, path: str | Path, *, font: str | None = None
) -> Path:
    """Write the cover to ``path`` (``.jpg``/``.jpeg`` or ``.png``), atomically."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in (".jpg", ".jpeg", ".png"):
        raise CoverError(
            f"cover path {path} must end in .jpg, .jpeg or .png", field="path", hint="rename the output"
        )
    image = cv2.cvtColor(compose_cover(frame, title, episode, font=font), cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, 92] if ext != ".png" else [cv2.IMWRITE_PNG_COMPRESSION, 3]
    ok, data = cv2.imencode(ext, image, params)
    if not ok:
        raise CoverError(f"could not encode the cover as {ext}", field="path")
    return write_bytes_atomic(path, data.tobytes())
