"""Stylised characters: a body layer drawn once per shot and small head sprites, one per face state.

Measurements are in head heights (``h``) from the top of the head, so one drawing serves every framing from
a tiny figure in an establishing shot to a face filling the frame. Shapes are drawn with PIL at ``ss``×
size and reduced with area filtering, which anti-aliases the edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from tasks.video.looks import RGB, CharacterLook

MOUTH_LEVELS = 4  # 0 closed … 3 wide open

# The head sprite covers this box around the head (units of h; x from the centre, y from the head top).
HEAD_BOX = (-0.62, -0.42, 0.62, 1.12)


@dataclass(frozen=True, slots=True)
class Figure:
    """One character placed on the oversize canvas (pixels): head centre ``cx``, head top ``top``,
    head height ``h``.
    """

    look: CharacterLook
    cx: float
    top: float
    h: float
    tag: str = "above"  # where the name tag sits: "above" the head, on the "chest" (close-ups) or "none"
    breath: int = 0  # breathing amplitude in pixels (0 for faces that fill the frame)

    @property
    def name(self) -> str:
        return self.look.name

    @property
    def mouth_xy(self) -> tuple[float, float]:
        return self.cx, self.top + 0.8 * self.h

    @property
    def face_xy(self) -> tuple[float, float]:
        return self.cx, self.top + 0.55 * self.h


def _shade(c: RGB, f: float) -> tuple[int, int, int, int]:
    return (*(int(min(255, max(0, v * f))) for v in c), 255)  # type: ignore[return-value]


class _Pen:
    """Draws in head units onto a PIL layer whose origin is ``(ox, oy)`` canvas pixels, at ``ss``× scale."""

    def __init__(self, draw: ImageDraw.ImageDraw, fig: Figure, ox: float, oy: float, ss: int) -> None:
        self.d, self.f, self.ox, self.oy, self.ss = draw, fig, ox, oy, ss

    def p(self, x: float, y: float) -> tuple[float, float]:
        f = self.f
        return (f.cx + x * f.h - self.ox) * self.ss, (f.top + y * f.h - self.oy) * self.ss

    def poly(self, pts: Sequence[tuple[float, float]], fill: tuple[int, ...]) -> None:
        self.d.polygon([self.p(x, y) for x, y in pts], fill=fill)

    def ellipse(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        fill: tuple[int, ...] | None,
        outline=None,
        width: float = 0.0,
    ) -> None:
        a, b = self.p(x0, y0), self.p(x1, y1)
        self.d.ellipse((a, b), fill=fill, outline=outline, width=max(1, int(width * self.f.h * self.ss)))

    def rect(
        self, x0: float, y0: float, x1: float, y1: float, fill: tuple[int, ...], radius: float = 0.0
    ) -> None:
        a, b = self.p(x0, y0), self.p(x1, y1)
        self.d.rounded_rectangle((a, b), radius=radius * self.f.h * self.ss, fill=fill)

    def line(self, pts: Sequence[tuple[float, float]], fill: tuple[int, ...], width: float) -> None:
        self.d.line([self.p(x, y) for x, y in pts], fill=fill, width=max(1, int(width * self.f.h * self.ss)))

    def arc(
        self, x0: float, y0: float, x1: float, y1: float, start: float, end: float, fill, width: float
    ) -> None:
        a, b = self.p(x0, y0), self.p(x1, y1)
        self.d.arc((a, b), start, end, fill=fill, width=max(1, int(width * self.f.h * self.ss)))


def _draw_body(pen: _Pen) -> None:
    """Back hair, neck, torso, arms, legs and outfit details (everything that does not move with the face)."""
    look = pen.f.look
    b = look.build
    hair = _shade(look.hair, 1.0)
    cloth = _shade(look.clothing, 1.0)
    dark = _shade(look.clothing, 0.72)
    skin = _shade(look.skin, 0.92)
    pen.ellipse(-1.1, 6.86, 1.1, 7.14, (0, 0, 0, 70))  # contact shadow: the figure stands on the floor
    if look.hairstyle == "long":
        pen.rect(-0.5, 0.25, 0.5, 1.95, hair, radius=0.25)
    elif look.hairstyle == "bob":
        pen.rect(-0.5, 0.25, 0.5, 1.05, hair, radius=0.2)
    elif look.hairstyle == "ponytail":
        pen.ellipse(0.3, 0.25, 0.62, 1.35, hair)
    trousers = _shade(look.clothing, 0.45) if look.outfit != "suit" else dark
    if look.outfit == "dress":
        pen.poly([(-0.22, 5.1), (-0.05, 5.1), (-0.1, 6.85), (-0.25, 6.85)], skin)
        pen.poly([(0.05, 5.1), (0.22, 5.1), (0.25, 6.85), (0.1, 6.85)], skin)
    else:
        pen.poly([(-0.72, 3.2), (-0.04, 3.2), (-0.12, 6.85), (-0.58, 6.85)], trousers)
        pen.poly([(0.04, 3.2), (0.72, 3.2), (0.58, 6.85), (0.12, 6.85)], trousers)
    pen.rect(-0.66, 6.8, -0.06, 7.0, (30, 28, 30, 255), radius=0.08)
    pen.rect(0.06, 6.8, 0.66, 7.0, (30, 28, 30, 255), radius=0.08)
    pen.rect(-0.15, 0.75, 0.15, 1.3, skin)
    for side in (-1, 1):  # arms hang beside the torso, hands at mid-thigh
        pen.poly(
            [
                (side * 0.82 * b, 1.22),
                (side * 1.04 * b, 1.4),
                (side * 0.98 * b, 3.65),
                (side * 0.72 * b, 3.65),
                (side * 0.7 * b, 1.5),
            ],
            dark,
        )
        pen.ellipse(side * 0.85 * b - 0.14, 3.55, side * 0.85 * b + 0.14, 3.9, skin)
    torso = [(-1.0 * b, 1.45), (-0.8 * b, 1.18), (0.8 * b, 1.18), (1.0 * b, 1.45), (0.76, 3.3), (-0.76, 3.3)]
    pen.poly(torso, cloth)
    if look.outfit == "dress":
        pen.poly([(-0.76, 3.1), (0.76, 3.1), (1.15, 5.2), (-1.15, 5.2)], cloth)
        pen.rect(-0.76, 3.05, 0.76, 3.22, _shade(look.accent, 0.9))
    elif look.outfit == "coat":
        pen.poly([(-0.8, 3.1), (0.8, 3.1), (0.95, 5.0), (-0.95, 5.0)], cloth)
        pen.line([(0.0, 1.3), (0.0, 5.0)], dark, 0.04)
        for y in (1.9, 2.5, 3.1, 3.7):
            pen.ellipse(0.08, y, 0.18, y + 0.1, dark)
    elif look.outfit in ("suit", "shirt_tie"):
        shirt = (245, 245, 242, 255) if look.outfit == "suit" else _shade(look.clothing, 1.25)
        pen.poly([(-0.3, 1.18), (0.3, 1.18), (0.0, 2.2)], shirt)
        pen.poly(
            [(-0.07, 1.25), (0.07, 1.25), (0.1, 2.0), (0.0, 2.15), (-0.1, 2.0)], _shade(look.accent, 0.85)
        )
        if look.outfit == "suit":
            pen.line([(-0.32, 1.18), (-0.05, 2.3)], dark, 0.05)
            pen.line([(0.32, 1.18), (0.05, 2.3)], dark, 0.05)
    elif look.outfit == "hoodie":
        pen.ellipse(-0.55, 1.0, 0.55, 1.45, dark)
        pen.line([(-0.12, 1.4), (-0.14, 2.1)], (240, 240, 240, 255), 0.03)
        pen.line([(0.12, 1.4), (0.14, 2.1)], (240, 240, 240, 255), 0.03)
        pen.rect(-0.5, 2.5, 0.5, 3.05, dark, radius=0.08)
    if look.outfit not in ("dress", "coat"):
        pen.rect(-0.76, 3.15, 0.76, 3.3, (40, 36, 34, 255))  # belt


# Where the hair meets the forehead, right to left (head units), per hairstyle.
HAIRLINES: dict[str, list[tuple[float, float]]] = {
    "long": [(0.4, 0.3), (0.3, 0.24), (-0.3, 0.24), (-0.4, 0.3)],
    "bob": [(0.4, 0.3), (0.3, 0.24), (-0.3, 0.24), (-0.4, 0.3)],
    "side_part": [(0.42, 0.26), (-0.1, 0.2), (-0.4, 0.38)],
    "short": [(0.4, 0.3), (0.0, 0.17), (-0.4, 0.3)],
    "ponytail": [(0.4, 0.3), (0.0, 0.17), (-0.4, 0.3)],
    "bun": [(0.4, 0.3), (0.0, 0.17), (-0.4, 0.3)],
    "buzz": [(0.38, 0.26), (0.0, 0.14), (-0.38, 0.26)],
}


def _cap_arc(
    left: tuple[float, float], right: tuple[float, float], a: float, y0: float, y1: float, n: int = 24
) -> list[tuple[float, float]]:
    """Points on the hair-cap ellipse from the angle of ``left`` over the top to the angle of ``right``.

    Following the cap itself keeps the fringe polygon inside the hair silhouette (no corners poking out).
    """
    cy, b = (y0 + y1) / 2, (y1 - y0) / 2
    t_left = math.atan2((left[1] - cy) / b, left[0] / a)
    t_right = math.atan2((right[1] - cy) / b, right[0] / a)
    if t_left > 0:  # y grows downward: the top of the cap is at -pi/2, so walk up from the left through it
        t_left -= 2 * math.pi
    if t_right < t_left:
        t_right += 2 * math.pi
    return [(a * math.cos(t), cy + b * math.sin(t)) for t in np.linspace(t_left, t_right, n)]


def _draw_head(pen: _Pen, mouth: int, eyes_open: bool) -> None:
    look = pen.f.look
    hair = _shade(look.hair, 1.0)
    skin = _shade(look.skin, 1.0)
    shadow = _shade(look.skin, 0.82)
    style = look.hairstyle
    if style == "bun":
        pen.ellipse(-0.2, -0.34, 0.2, 0.04, hair)
    if style != "buzz":
        pen.ellipse(-0.46, -0.08, 0.46, 0.8 if style != "short" else 0.62, hair)
    else:
        pen.ellipse(-0.41, -0.02, 0.41, 0.6, hair)
    for side in (-1, 1):
        pen.ellipse(side * 0.38 - 0.07, 0.44, side * 0.38 + 0.07, 0.66, shadow)
    pen.ellipse(-0.38, 0.06, 0.38, 1.0, skin)
    hairline = HAIRLINES.get(style)
    if hairline is not None:  # the fringe: the hair cap's outline over the top, back along the hairline
        a, y0, y1 = (
            (0.41, -0.02, 0.6) if style == "buzz" else (0.46, -0.08, 0.8 if style != "short" else 0.62)
        )
        cap = _cap_arc(hairline[-1], hairline[0], a, y0, y1)
        pen.poly(cap + hairline, hair)
    brow = _shade(look.hair, 0.8)
    for side in (-1, 1):
        ex = side * 0.16
        pen.line([(ex - 0.09, 0.43), (ex + 0.09, 0.42 - 0.01 * side)], brow, 0.035)
        if eyes_open:
            pen.ellipse(ex - 0.085, 0.48, ex + 0.085, 0.57, (250, 250, 250, 255))
            pen.ellipse(ex - 0.042, 0.483, ex + 0.042, 0.567, (40, 30, 28, 255))
            pen.ellipse(ex - 0.005, 0.49, ex + 0.02, 0.515, (255, 255, 255, 255))
        else:
            pen.arc(ex - 0.085, 0.46, ex + 0.085, 0.56, 20, 160, (50, 36, 30, 255), 0.02)
        if look.glasses:
            pen.ellipse(ex - 0.12, 0.44, ex + 0.12, 0.61, None, outline=(30, 30, 34, 255), width=0.02)
    if look.glasses:
        pen.line([(-0.04, 0.51), (0.04, 0.51)], (30, 30, 34, 255), 0.02)
    pen.line([(0.0, 0.6), (0.025, 0.7), (-0.01, 0.71)], shadow, 0.02)
    lips = (176, 70, 72, 255)
    if mouth <= 0:
        pen.line([(-0.09, 0.8), (0.0, 0.81), (0.09, 0.8)], lips, 0.028)
    else:
        half_w = 0.08 + 0.015 * mouth
        half_h = (0.018, 0.042, 0.068)[min(mouth, 3) - 1]
        pen.ellipse(-half_w, 0.8 - half_h, half_w, 0.8 + half_h, lips)
        pen.ellipse(
            -half_w + 0.02, 0.8 - half_h + 0.012, half_w - 0.02, 0.8 + half_h - 0.008, (70, 20, 26, 255)
        )
        if mouth >= 2:
            pen.rect(
                -half_w + 0.03,
                0.8 - half_h + 0.012,
                half_w - 0.03,
                0.8 - half_h + 0.035,
                (245, 245, 240, 255),
            )


def _layer(size: tuple[int, int], ss: int, paint: Callable[[ImageDraw.ImageDraw], None]) -> np.ndarray:
    """Paint on an ``ss``× RGBA layer and reduce it to ``size`` (w, h) with area filtering (anti-aliasing)."""
    w, h = size
    if w <= 0 or h <= 0:  # a feature smaller than a pixel (a mouth in a thumbnail-sized wide shot)
        return np.zeros((max(h, 0), max(w, 0), 4), np.uint8)
    img = Image.new("RGBA", (w * ss, h * ss), (0, 0, 0, 0))
    paint(ImageDraw.Draw(img))
    if ss > 1:
        img = img.reduce(ss)  # box filter on premultiplied alpha: no dark fringes at the edges
    return np.asarray(img).copy()


def supersample(h: float) -> int:
    """2× for small figures (edges matter), 1× for big ones (edges are long and the cost is quadratic)."""
    return 2 if h < 500 else 1


def body_layer(fig: Figure, bounds: tuple[int, int, int, int]) -> tuple[np.ndarray, int, int]:
    """RGBA of the figure's body clipped to ``bounds`` (x0, y0, x1, y1 canvas px) and its top-left
    position.
    """
    x0 = max(bounds[0], int(fig.cx - 1.3 * fig.h))
    x1 = min(bounds[2], int(np.ceil(fig.cx + 1.3 * fig.h)))
    y0 = max(bounds[1], int(fig.top))
    y1 = min(bounds[3], int(np.ceil(fig.top + 7.15 * fig.h)))
    if x1 <= x0 or y1 <= y0:
        return np.zeros((0, 0, 4), np.uint8), x0, y0
    ss = supersample(fig.h)
    rgba = _layer((x1 - x0, y1 - y0), ss, lambda d: _draw_body(_Pen(d, fig, x0, y0, ss)))
    return rgba, x0, y0


def head_sprite(
    fig: Figure, mouth: int, eyes_open: bool, box: tuple[int, int, int, int] | None = None
) -> tuple[np.ndarray, int, int]:
    """RGBA of the head in one face state and its top-left position on the canvas (before breathing).

    ``box`` (x0, y0, x1, y1 canvas px) draws only that window, e.g. the mouth: a close-up's full head is a
    few megapixels, its mouth a few thousand.
    """
    if box is None:
        bx0, by0, bx1, by1 = HEAD_BOX
        x0, y0 = int(np.floor(fig.cx + bx0 * fig.h)), int(np.floor(fig.top + by0 * fig.h))
        x1, y1 = int(np.ceil(fig.cx + bx1 * fig.h)), int(np.ceil(fig.top + by1 * fig.h))
    else:
        x0, y0, x1, y1 = box
    ss = supersample(fig.h)
    rgba = _layer((x1 - x0, y1 - y0), ss, lambda d: _draw_head(_Pen(d, fig, x0, y0, ss), mouth, eyes_open))
    return rgba, x0, y0
