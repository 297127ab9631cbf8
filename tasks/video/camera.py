"""Camera moves as a smooth path of crops over the oversize canvas.

Per frame the camera is a zoom ``z`` (window size / output size, ≥ 1 so the canvas is never upscaled), a
window centre and a roll angle; one ``cv2.warpAffine`` turns the canvas into the output frame. A static
camera is an exact pixel crop (a slice copy, no resampling).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from tasks.video.errors import VideoError
from tasks.video.looks import stable_rng

MARGIN = 0.125  # canvas margin on each side, as a fraction of the output size


def canvas_size(width: int, height: int) -> tuple[int, int]:
    """Oversize canvas (w, h): the output plus an even margin so the static crop is pixel-exact."""
    return width + 2 * int(round(MARGIN * width)), height + 2 * int(round(MARGIN * height))


def _ease(t: np.ndarray) -> np.ndarray:
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True, slots=True)
class CameraPath:
    """Zoom, window centre (canvas px) and roll (radians) for every frame."""

    width: int
    height: int
    zoom: np.ndarray  # (frames,)
    cx: np.ndarray  # (frames,)
    cy: np.ndarray  # (frames,)
    roll: np.ndarray  # (frames,)

    def matrix(self, k: int) -> np.ndarray:
        """2×3 map from output pixel to canvas pixel (for ``WARP_INVERSE_MAP``)."""
        z, a = float(self.zoom[k]), float(self.roll[k])
        c, s = math.cos(a) * z, math.sin(a) * z
        ox, oy = (self.width - 1) / 2.0, (self.height - 1) / 2.0
        tx = float(self.cx[k]) - 0.5 - (c * ox - s * oy)
        ty = float(self.cy[k]) - 0.5 - (s * ox + c * oy)
        return np.array([[c, -s, tx], [s, c, ty]], np.float64)

    def to_screen(self, k: int, x: float, y: float) -> tuple[float, float]:
        """Where canvas point (x, y) appears in output frame ``k`` (pixels)."""
        m = self.matrix(k)
        a = m[:, :2]
        return tuple(np.linalg.solve(a, np.array([x, y]) - m[:, 2]))  # type: ignore[return-value]

    def render(self, canvas: np.ndarray, k: int) -> np.ndarray:
        """The output frame ``k`` as a new array.

        The cheapest exact-enough operation wins: a slice copy when the window is output-sized (static,
        pans and tilts, rounded to whole pixels), a ``cv2.resize`` of the window for zooms (about 3x
        cheaper than a warp; the window edge is rounded to whole canvas pixels, under half an output
        pixel), a warp only for roll.
        """
        z, a = float(self.zoom[k]), float(self.roll[k])
        if a == 0.0:
            cw, ch = canvas.shape[1], canvas.shape[0]
            if z == 1.0:
                xi = min(max(int(round(float(self.cx[k]) - self.width / 2.0)), 0), cw - self.width)
                yi = min(max(int(round(float(self.cy[k]) - self.height / 2.0)), 0), ch - self.height)
                return canvas[yi : yi + self.height, xi : xi + self.width].copy()
            w = min(int(round(self.width * z)), cw)
            h = min(int(round(self.height * z)), ch)
            xi = min(max(int(round(float(self.cx[k]) - w / 2.0)), 0), cw - w)
            yi = min(max(int(round(float(self.cy[k]) - h / 2.0)), 0), ch - h)
            window = canvas[yi : yi + h, xi : xi + w]
            return cv2.resize(window, (self.width, self.height), interpolation=cv2.INTER_LINEAR)
        return cv2.warpAffine(
            canvas,
            self.matrix(k),
            (self.width, self.height),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )


def camera_path(
    move: str, frames: int, width: int, height: int, *, fps: float = 30.0, seed: int = 0
) -> CameraPath:
    """The path of ``move`` (a ``CameraMove`` value) over ``frames`` frames for a
    ``width``×``height`` output.
    """
    cw, ch = canvas_size(width, height)
    t = _ease(np.linspace(0.0, 1.0, frames) if frames > 1 else np.zeros(1))
    zoom = np.ones(frames)
    cx = np.full(frames, cw / 2.0)
    cy = np.full(frames, ch / 2.0)
    roll = np.zeros(frames)
    travel_x = (cw - width) / 2.0 - 2.0
    travel_y = min((ch - height) / 2.0 - 2.0, 0.07 * height)  # a tilt that keeps name tags off the caption
    max_zoom = min(cw / width, ch / height) - 0.01
    if move == "push_in":
        zoom = max_zoom + (1.0 - max_zoom) * t  # the window shrinks: everything grows
    elif move == "pull_out":
        zoom = 1.0 + (max_zoom - 1.0) * t
    elif move == "pan_left":  # the view travels left
        cx = cw / 2.0 + travel_x * (1.0 - 2.0 * t)
    elif move == "pan_right":
        cx = cw / 2.0 - travel_x * (1.0 - 2.0 * t)
    elif move == "tilt_up":
        cy = ch / 2.0 + travel_y * (1.0 - 2.0 * t)
    elif move == "tilt_down":
        cy = ch / 2.0 - travel_y * (1.0 - 2.0 * t)
    elif move == "handheld":
        # Sums of slow sines with seeded phases: smooth, never repeating within a shot, same for
        # the same seed.
        rng = stable_rng("handheld", seed)
        secs = np.arange(frames) / float(fps)
        zoom = np.full(frames, 1.07)
        amp_x = (cw - width * 1.07) / 2.0 * 0.55
        amp_y = (ch - height * 1.07) / 2.0 * 0.35

        def wobble() -> np.ndarray:
            f = rng.uniform(0.15, 0.9, 3)
            p = rng.uniform(0, 2 * np.pi, 3)
            w = np.array([0.55, 0.3, 0.15])
            return (w[:, None] * np.sin(2 * np.pi * f[:, None] * secs[None, :] + p[:, None])).sum(axis=0)

        cx = cw / 2.0 + amp_x * wobble()
        cy = ch / 2.0 + amp_y * wobble()
        roll = np.radians(0.35) * wobble()
    elif move != "static":
        raise VideoError(
            f"unknown camera move {move!r}",
            field="shot.camera",
            hint="use static, push_in, pull_out, pan_left, pan_right, tilt_up, tilt_down or handheld",
        )
    return CameraPath(
        width,
        height,
        np.asarray(zoom, float),
        np.asarray(cx, float),
        np.asarray(cy, float),
        np.asarray(roll, float),
    )
