"""Text as pre-rendered RGBA sprites: the CJK font, glyph checks, outlined text and a fast alpha blend.

Text is rasterised with PIL once (per cue, per name tag, per caption) and blended per frame with integer
numpy arithmetic on the sprite's bounding box only, so no frame ever pays for font rendering.
"""

from __future__ import annotations

import importlib.util
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tasks.video.errors import VideoError

FONT_PACKAGE = "pylopdf_fonts_zh_cn"
FONT_FILE = "NotoSansSC-Regular.otf"


class FontError(VideoError):
    """The CJK-capable font is missing or cannot draw some of the text."""


@cache
def default_font_path() -> Path:
    """Noto Sans SC from the ``pylopdf-fonts-zh-cn`` wheel: one font that draws Chinese and Latin text."""
    spec = importlib.util.find_spec(FONT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise FontError(
            f"the font {FONT_FILE} is not installed (Python package {FONT_PACKAGE!r} not found)",
            hint="pip install pylopdf-fonts-zh-cn (it ships NotoSansSC-Regular.otf), "
            "or pass font=PATH to a CJK font",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / FONT_FILE
    if not path.is_file():
        raise FontError(
            f"the font {FONT_FILE} is missing from {path.parent}",
            hint="reinstall it: pip install --force-reinstall pylopdf-fonts-zh-cn",
        )
    return path


_local = threading.local()


def load_font(path: str | None, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font at ``size`` px; ``path=None`` means Noto Sans SC.

    Cached per thread: a FreeType face is not safe to rasterise from two threads at once, and shots may be
    rendered by a thread-pool task runner.
    """
    cache: dict[tuple[str | None, int], ImageFont.FreeTypeFont] = _local.__dict__.setdefault("fonts", {})
    font = cache.get((path, size))
    if font is None:
        font = cache[(path, size)] = _open_font(path, size)
    return font


def clear_font_cache() -> None:
    """Forget this thread's loaded fonts (after installing a font, or in tests)."""
    _local.__dict__.pop("fonts", None)
    default_font_path.cache_clear()


def _open_font(path: str | None, size: int) -> ImageFont.FreeTypeFont:
    font_path = Path(path) if path else default_font_path()
    if not font_path.is_file():
        raise FontError(
            f"font file {font_path} does not exist", field="font", hint="pass the path of a .otf/.ttf file"
        )
    try:
        return ImageFont.truetype(str(font_path), size)
    except OSError as exc:
        raise FontError(
            f"cannot load font {font_path}: {exc}", field="font", hint="use a TrueType/OpenType font"
        ) from None


def _notdef_mask(font: ImageFont.FreeTypeFont) -> bytes:
    """The bitmap the font draws for a code point it lacks (a private-use character no text font maps)."""
    cached = getattr(font, "_reelwright_notdef", None)
    if cached is None:
        cached = bytes(font.getmask("\U000f0000"))
        font._reelwright_notdef = cached  # type: ignore[attr-defined]
    return cached


def missing_glyphs(font: ImageFont.FreeTypeFont, text: str) -> list[str]:
    """Characters of ``text`` the font would draw as the .notdef box (tofu)."""
    notdef = _notdef_mask(font)
    missing = []
    for ch in sorted(set(text)):
        if ch.isspace() or not ch.isprintable():
            continue
        if bytes(font.getmask(ch)) == notdef:
            missing.append(ch)
    return missing


@dataclass(frozen=True, slots=True, eq=False)
class Sprite:
    """An RGBA image placed at ``(x, y)``, stored premultiplied for a two-multiply integer blend.

    ``color`` is ``rgb * alpha`` (uint16) and ``keep`` is ``255 - alpha`` (uint16, one channel), so
    ``out = (frame * keep + color) / 255`` touches only the sprite's box.
    """

    x: int
    y: int
    color: np.ndarray  # (h, w, 3) uint16, premultiplied
    keep: np.ndarray  # (h, w, 1) uint16

    @property
    def width(self) -> int:
        return int(self.color.shape[1])

    @property
    def height(self) -> int:
        return int(self.color.shape[0])

    @classmethod
    def from_rgba(cls, rgba: np.ndarray, x: int = 0, y: int = 0) -> Sprite:
        alpha = rgba[..., 3:4].astype(np.uint16)
        color = rgba[..., :3].astype(np.uint16) * alpha
        return cls(x=int(x), y=int(y), color=color, keep=(255 - alpha))

    def at(self, x: int, y: int) -> Sprite:
        return Sprite(x=int(x), y=int(y), color=self.color, keep=self.keep)

    def blend(self, frame: np.ndarray, opacity: float = 1.0) -> np.ndarray:
        """Blend onto ``frame`` in place (clipped to its bounds) and return it."""
        fh, fw = frame.shape[:2]
        x0, y0 = max(self.x, 0), max(self.y, 0)
        x1, y1 = min(self.x + self.width, fw), min(self.y + self.height, fh)
        if x1 <= x0 or y1 <= y0 or opacity <= 0.0:
            return frame
        sy, sx = slice(y0 - self.y, y1 - self.y), slice(x0 - self.x, x1 - self.x)
        region = frame[y0:y1, x0:x1]
        color, keep = self.color[sy, sx], self.keep[sy, sx]
        if opacity < 1.0:
            scale = int(round(opacity * 256))
            color = (color.astype(np.uint32) * scale >> 8).astype(np.uint16)
            keep = (255 - ((255 - keep.astype(np.uint32)) * scale >> 8)).astype(np.uint16)
        out = region.astype(np.uint16) * keep
        out += color
        out += 127
        region[...] = (out // 255).astype(np.uint8)
        return frame


def text_rgba(
    lines: list[str],
    font: ImageFont.FreeTypeFont,
    *,
    fill: tuple[int, int, int] = (255, 255, 255),
    outline: tuple[int, int, int] = (0, 0, 0),
    outline_width: int = 0,
    shadow: int = 0,
    box: tuple[int, int, int, int] | None = None,
    padding: int = 0,
    line_gap: float = 0.25,
    align: str = "center",
) -> np.ndarray:
    """Render lines of text to an RGBA array: optional rounded background box, outline, soft drop shadow."""
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    gap = int(round(line_h * line_gap))
    widths = [int(np.ceil(font.getlength(line))) for line in lines]
    text_w = max(widths, default=0)
    text_h = line_h * len(lines) + gap * max(len(lines) - 1, 0)
    margin = outline_width + 2 * shadow + padding
    w, h = text_w + 2 * margin, text_h + 2 * margin
    layer = Image.new("RGBA", (max(w, 1), max(h, 1)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    if box is not None:
        draw.rounded_rectangle((0, 0, w - 1, h - 1), radius=max(4, padding // 2), fill=box)
    y = margin
    for line, lw in zip(lines, widths, strict=True):
        x = margin + (text_w - lw) // 2 if align == "center" else margin
        draw.text(
            (x, y),
            line,
            font=font,
            fill=(*fill, 255),
            stroke_width=outline_width,
            stroke_fill=(*outline, 255),
        )
        y += line_h + gap
    rgba = np.asarray(layer).copy()
    if shadow > 0:
        # A blurred, offset copy of the glyph alpha behind the text lifts it off busy backgrounds.
        glyph_alpha = rgba[..., 3].astype(np.float32)
        blurred = cv2.GaussianBlur(glyph_alpha, (0, 0), sigmaX=shadow * 0.8)
        shifted = np.zeros_like(blurred)
        shifted[shadow:, shadow:] = blurred[:-shadow, :-shadow] * 0.75
        a_text = glyph_alpha / 255.0
        a_shadow = shifted / 255.0
        a_out = a_text + a_shadow * (1.0 - a_text)
        rgb = rgba[..., :3].astype(np.float32) * a_text[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            rgb = np.where(a_out[..., None] > 0, rgb / a_out[..., None], 0.0)
        rgba = np.dstack([np.clip(rgb, 0, 255), np.clip(a_out * 255.0, 0, 255)]).astype(np.uint8)
    return rgba


def is_cjk(ch: str) -> bool:
    """Characters set without spaces, each a line-break opportunity (CJK ideographs, kana, hangul,
    fullwidth).
    """
    o = ord(ch)
    return (
        0x2E80 <= o <= 0x9FFF
        or 0xAC00 <= o <= 0xD7AF
        or 0xF900 <= o <= 0xFAFF
        or 0xFF00 <= o <= 0xFFEF
        or 0x3000 <= o <= 0x303F
        or 0x20000 <= o <= 0x3FFFF
    )


def tokens(text: str) -> list[str]:
    """Break units: each CJK character alone, Latin words with their trailing spaces."""
    out: list[str] = []
    word = ""
    for ch in text:
        if is_cjk(ch):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch.isspace():
            word += " "
            out.append(word)
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return [t for t in out if t]


def wrap_to_width(text: str, font: ImageFont.FreeTypeFont, max_width: float, max_lines: int) -> list[str]:
    """Greedy wrap by measured width; text past ``max_lines`` is cut with an ellipsis."""
    lines: list[str] = []
    current = ""
    for tok in tokens(" ".join(text.split())):
        trial = current + tok
        if current and font.getlength(trial.rstrip()) > max_width:
            lines.append(current.rstrip())
            current = tok.lstrip()
        else:
            current = trial
    if current.strip():
        lines.append(current.rstrip())
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and font.getlength(last + "…") > max_width:
            last = last[:-1]
        lines = lines[: max_lines - 1] + [last.rstrip() + "…"]
    return lines
