"""The oversize canvas of one shot: plate and bodies composited once, faces swapped in per frame as patches.

Each figure owns a rectangle around its head and name tag (rectangles never overlap: they are clipped at
the midpoint between neighbours). A patch is that rectangle fully composited for one head state (breathing
lift, eyes, speaker highlight); patches are cached, so a frame costs a few slice assignments. The mouth is
a still smaller opaque patch inside the face, pasted every frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from tasks.video.figures import MOUTH_LEVELS, Figure, body_layer, head_sprite
from tasks.video.text import Sprite, load_font, text_rgba

# The mouth patch (head units, inside the face ellipse for every mouth state).
MOUTH_BOX = (-0.13, 0.725, 0.13, 0.9)
PATCH_BUDGET_BYTES = 96 * 1024 * 1024  # cached face patches per shot


@dataclass(frozen=True, slots=True)
class FaceState:
    mouth: int = 0  # 0 closed … MOUTH_LEVELS - 1
    eyes_open: bool = True
    lift: int = 0  # breathing: pixels the head rises
    active: bool = False  # speaking now: highlighted


def _glow_rgba(size: int) -> np.ndarray:
    """A soft warm halo; placed behind the speaker's head it reads as a key light."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    r = np.hypot(xx - size / 2, yy - size / 2) / (size / 2)
    alpha = np.clip(1.0 - r, 0.0, 1.0) ** 1.5 * 110.0
    rgba = np.empty((size, size, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2] = 255, 236, 190
    rgba[..., 3] = alpha.astype(np.uint8)
    return rgba


class Stage:
    """Composites figures on a plate; :meth:`pose` returns the canvas for one frame's face states."""

    def __init__(
        self,
        plate: np.ndarray,
        figures: Sequence[Figure],
        *,
        light: tuple[float, float, float] = (1.0, 1.0, 1.0),
        font: str | None = None,
    ) -> None:
        self.figures = tuple(figures)
        self.light = np.asarray(light, np.float32)
        ch, cw = plate.shape[:2]
        base = plate.copy()
        for fig in sorted(self.figures, key=lambda f: f.h):  # bigger (nearer) figures in front
            rgba, x, y = body_layer(fig, (0, 0, cw, ch))
            if rgba.size:
                Sprite.from_rgba(self._lit(rgba), x, y).blend(base)
        self.base = base
        self._layout(cw, ch, font)
        self._heads: dict[tuple[int, int, bool], Sprite] = {}
        self._mouths: dict[tuple[int, int], np.ndarray] = {}
        self._patches: dict[tuple[int, FaceState], np.ndarray] = {}
        # No halo when the face fills the frame (ECU): there is nothing around it to light.
        self._glows = [self._glow(fig) if fig.tag != "none" else None for fig in self.figures]
        self.canvas = base.copy()
        self._shown: list[FaceState | None] = [None] * len(self.figures)
        self.pose([FaceState() for _ in self.figures])

    def _lit(self, rgba: np.ndarray) -> np.ndarray:
        """Figures take the scene's light (blue at night, warm at dusk) so they sit in the plate."""
        if np.all(self.light == 1.0) or rgba.size == 0:
            return rgba
        ramp = np.arange(256, dtype=np.float32)
        lut = np.stack([np.clip(ramp * g, 0, 255) for g in self.light] + [ramp], axis=-1)
        return cv2.LUT(np.ascontiguousarray(rgba), lut.astype(np.uint8)[None, :, :])

    def _layout(self, cw: int, ch: int, font_path: str | None) -> None:
        """Each figure's patch rectangle and name tags; neighbours split the space at the midpoint."""
        n = len(self.figures)
        order = sorted(range(n), key=lambda i: self.figures[i].cx)
        self.rects: list[tuple[int, int, int, int]] = [(0, 0, 0, 0)] * n
        self._tags: list[tuple[Sprite, Sprite] | None] = [None] * n
        for rank, i in enumerate(order):
            f = self.figures[i]
            lim0 = (self.figures[order[rank - 1]].cx + f.cx) / 2 if rank > 0 else 0.0
            lim1 = (self.figures[order[rank + 1]].cx + f.cx) / 2 if rank + 1 < n else float(cw)
            tags = (
                None
                if f.tag == "none"
                else self._tag_pair(f, font_path, 2 * min(f.cx - lim0, lim1 - f.cx), ch)
            )
            half = max(0.66 * f.h, tags[0].width / 2 + 1 if tags else 0.0)
            tag_h = tags[0].height + 4 if tags else 0
            y0 = f.top - 0.45 * f.h - (tag_h if f.tag == "above" else 0) - f.breath
            y1 = f.top + (1.22 * f.h + tag_h if f.tag == "chest" else 1.4 * f.h)
            x0, x1 = max(lim0, f.cx - half), min(lim1, f.cx + half)
            self.rects[i] = (max(int(x0), 0), max(int(y0), 0), min(int(x1), cw), min(int(np.ceil(y1)), ch))
            self._tags[i] = tags

    @staticmethod
    def _tag_pair(f: Figure, font_path: str | None, avail: float, ch: int) -> tuple[Sprite, Sprite]:
        """Inactive and speaking versions of the name tag, shrunk (then shortened) to fit ``avail`` pixels."""
        size = max(6, int(min(max(0.16 * f.h, 0.012 * ch), 0.022 * ch)))
        floor = max(6, int(0.008 * ch))
        name = f.name
        font = load_font(font_path, size)
        while font.getlength(name) + 0.7 * size > avail and size > floor:
            size -= 1
            font = load_font(font_path, size)
        while len(name) > 1 and font.getlength(name) + 0.7 * size > avail:
            name = name[:-2] + "…"  # drop one more character each round, keep the ellipsis
        pad = max(3, size // 3)
        sprites = []
        for active in (False, True):
            box = (*f.look.clothing, 235) if active else (20, 20, 24, 150)
            fill = (255, 255, 255) if active else (210, 210, 210)
            rgba = text_rgba([name], font, fill=fill, box=box, padding=pad)
            y = f.top - 0.42 * f.h - rgba.shape[0] if f.tag == "above" else f.top + 1.22 * f.h
            sprites.append(Sprite.from_rgba(rgba, int(f.cx - rgba.shape[1] / 2), int(y)))
        return sprites[0], sprites[1]

    def _glow(self, f: Figure) -> Sprite:
        size = max(8, int(1.25 * f.h))
        return Sprite.from_rgba(_glow_rgba(size), int(f.cx - size / 2), int(f.top + 0.5 * f.h - size / 2))

    def _head(self, i: int, mouth: int, eyes_open: bool) -> Sprite:
        key = (i, mouth, eyes_open)
        if key not in self._heads:
            rgba, x, y = head_sprite(self.figures[i], mouth, eyes_open)
            self._heads[key] = Sprite.from_rgba(self._lit(rgba), x, y)
        return self._heads[key]

    def _mouth(self, i: int, level: int) -> np.ndarray:
        """The opaque mouth box of the head drawn with that mouth (only the box is drawn)."""
        key = (i, level)
        if key not in self._mouths:
            rgba, _, _ = head_sprite(self.figures[i], level, True, box=self.mouth_box(i, 0))
            self._mouths[key] = np.ascontiguousarray(self._lit(rgba)[..., :3])
        return self._mouths[key]

    def mouth_box(self, i: int, lift: int) -> tuple[int, int, int, int]:
        """Canvas rectangle (x0, y0, x1, y1) of figure ``i``'s mouth patch at a breathing lift."""
        f = self.figures[i]
        x0, y0, x1, y1 = MOUTH_BOX
        return (
            int(round(f.cx + x0 * f.h)),
            int(round(f.top + y0 * f.h)) - lift,
            int(round(f.cx + x1 * f.h)),
            int(round(f.top + y1 * f.h)) - lift,
        )

    def _patch(self, i: int, state: FaceState) -> np.ndarray:
        key = (i, FaceState(0, state.eyes_open, state.lift, state.active))
        patch = self._patches.get(key)
        if patch is None:
            if sum(p.nbytes for p in self._patches.values()) > PATCH_BUDGET_BYTES:
                self._patches.clear()  # rare (long close-ups): rebuilding a few patches is cheap
            x0, y0, x1, y1 = self.rects[i]
            patch = self.base[y0:y1, x0:x1].copy()
            glow = self._glows[i]
            if state.active and glow is not None:
                glow.at(glow.x - x0, glow.y - y0).blend(patch)
            head = self._head(i, 0, state.eyes_open)
            head.at(head.x - x0, head.y - state.lift - y0).blend(patch)
            tags = self._tags[i]
            if tags is not None:
                tag = tags[1 if state.active else 0]
                tag.at(tag.x - x0, tag.y - y0).blend(patch)
            self._patches[key] = patch
        return patch

    def pose(self, states: Sequence[FaceState]) -> np.ndarray:
        """Update the canvas in place to show ``states`` (one per figure) and return it (do not keep it)."""
        ch, cw = self.canvas.shape[:2]
        for i, state in enumerate(states):
            shown = self._shown[i]
            x0, y0, x1, y1 = self.rects[i]
            if x1 <= x0 or y1 <= y0:
                continue
            if shown is None or (shown.eyes_open, shown.lift, shown.active) != (
                state.eyes_open,
                state.lift,
                state.active,
            ):
                self.canvas[y0:y1, x0:x1] = self._patch(i, state)
            mouth = self._mouth(i, min(max(state.mouth, 0), MOUTH_LEVELS - 1))
            mx0, my0, mx1, my1 = self.mouth_box(i, state.lift)
            cx0, cy0, cx1, cy1 = max(mx0, x0, 0), max(my0, y0, 0), min(mx1, x1, cw), min(my1, y1, ch)
            if cx1 > cx0 and cy1 > cy0:
                self.canvas[cy0:cy1, cx0:cx1] = mouth[cy0 - my0 : cy1 - my0, cx0 - mx0 : cx1 - mx0]
            self._shown[i] = state
        return self.canvas
