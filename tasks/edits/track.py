"""Follow a box through motion: normalised colour template matching (squared differences) in a search window, with a slowly adapting template.

OpenCV's contrib trackers are not all in the headless wheel (and the ones that are need model files), so this is
plain template matching: deterministic, fast on a small grey copy, and good for the rigid-ish elements edits move.
"""

from __future__ import annotations

import cv2
import numpy as np

INSET = 0.15


class BoxTracker:
    """``update(frame) -> (x, y, w, h)`` for each frame after the one the tracker was started on."""

    def __init__(self, frame: np.ndarray, box: tuple[int, int, int, int], *, max_side: int = 480) -> None:
        h, w = frame.shape[:2]
        self.scale = min(1.0, max_side / max(h, w))
        self.full = (w, h)
        x, y, bw, bh = box
        self.box = (float(x), float(y), float(bw), float(bh))
        self.template = self._crop(self._gray(frame), self.box)
        self.original = self.template.copy()
        self.velocity = (0.0, 0.0)
        self.score = 1.0

    def _gray(self, frame: np.ndarray) -> np.ndarray:
        """The frame as matched: colour kept (a red object on grey has almost no luminance contrast)."""
        g = frame
        if self.scale < 1:
            g = cv2.resize(g, None, fx=self.scale, fy=self.scale, interpolation=cv2.INTER_AREA)
        return g.astype(np.float32)

    def _crop(self, g: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
        """The inner part of ``box`` (15 % trimmed per side): user boxes are loose and their margin is background
        that moves differently from the element."""
        bx, by, bbw, bbh = box
        box = (bx + INSET * bbw, by + INSET * bbh, bbw * (1 - 2 * INSET), bbh * (1 - 2 * INSET))
        x, y, bw, bh = (int(round(v * self.scale)) for v in box)
        x, y = max(0, min(x, g.shape[1] - 2)), max(0, min(y, g.shape[0] - 2))
        bw, bh = max(2, min(bw, g.shape[1] - x)), max(2, min(bh, g.shape[0] - y))
        return g[y : y + bh, x : x + bw].copy()

    def update(self, frame: np.ndarray) -> tuple[int, int, int, int]:
        g = self._gray(frame)
        th, tw = self.template.shape[:2]
        bx, by, bbw, bbh = self.box
        x, y = (bx + INSET * bbw) * self.scale, (by + INSET * bbh) * self.scale
        px, py = (
            x + self.velocity[0] * self.scale,
            y + self.velocity[1] * self.scale,
        )  # constant-velocity guess
        mx, my = max(8, tw), max(8, th)  # search a window one box-size around the last position
        x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
        x1, y1 = int(min(g.shape[1], x + tw + mx)), int(min(g.shape[0], y + th + my))
        window = g[y0:y1, x0:x1]
        if window.shape[0] < th or window.shape[1] < tw:
            return self.current
        # match both the adapted and the first template (no drift), and prefer the predicted position
        # (squared differences, not correlation: a flat-coloured element has no variance to correlate)
        res = 1.0 - 0.5 * (cv2.matchTemplate(window, self.template, cv2.TM_SQDIFF_NORMED)
                           + cv2.matchTemplate(window, self.original, cv2.TM_SQDIFF_NORMED))  # fmt: skip
        gy, gx = np.mgrid[0 : res.shape[0], 0 : res.shape[1]].astype(np.float32)
        res -= 1.5 * (((gx + x0 - px) / tw) ** 2 + ((gy + y0 - py) / th) ** 2)
        _, score, _, loc = cv2.minMaxLoc(res)
        self.score = float(score)
        if score > 0.4:
            nx = (x0 + loc[0]) / self.scale - INSET * self.box[2]
            ny = (y0 + loc[1]) / self.scale - INSET * self.box[3]
            vx, vy = nx - self.box[0], ny - self.box[1]
            self.velocity = (0.5 * self.velocity[0] + 0.5 * vx, 0.5 * self.velocity[1] + 0.5 * vy)
            self.box = (nx, ny, self.box[2], self.box[3])
            if score > 0.7:  # adapt slowly to lighting and pose; never to a poor match
                fresh = self._crop(g, self.box)
                if fresh.shape == self.template.shape:
                    self.template = 0.9 * self.template + 0.1 * fresh
        return self.current

    @property
    def current(self) -> tuple[int, int, int, int]:
        return tuple(int(round(v)) for v in self.box)  # type: ignore[return-value]


def shift_mask(mask: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """``mask`` moved by (dx, dy) pixels, cropped to the frame."""
    out = np.zeros_like(mask)
    h, w = mask.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    if abs(dx) < w and abs(dy) < h:
        out[yd, xd] = mask[ys, xs]
    return out
