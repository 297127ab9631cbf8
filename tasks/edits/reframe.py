"""Reframing: the crop window path for 16:9 → 9:16 (following the subject), push-ins and pans.

The subject is where the picture moves and stands out: per frame, a small grey copy gives a motion map (absolute
difference to the previous frame) and a spectral-residual saliency map; the crop centre follows their weighted
centroid, smoothed over time (a centred moving average, then a speed limit) so the virtual camera glides.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction

import cv2
import numpy as np

from schemas.edits import EditError


def parse_aspect(aspect: str) -> Fraction:
    w, h = (Fraction(x) for x in aspect.split(":"))
    return w / h


def crop_size(width: int, height: int, aspect: Fraction) -> tuple[int, int]:
    """Largest even-sized crop of ``aspect`` inside ``width``×``height``."""
    if Fraction(width, height) > aspect:
        h = height
        w = int(h * aspect)
    else:
        w = width
        h = int(w / aspect)
    w, h = w - w % 2, h - h % 2
    if w < 2 or h < 2:
        raise EditError(f"a {aspect} crop does not fit in {width}x{height}", field="aspect")
    return w, h


def _saliency(gray: np.ndarray) -> np.ndarray:
    """Spectral residual saliency (Hou & Zhang 2007) of a small grey image."""
    f = np.fft.fft2(gray.astype(np.float32))
    log_amp = np.log(np.abs(f) + 1e-6)
    residual = log_amp - cv2.blur(log_amp, (3, 3))
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * np.angle(f)))) ** 2
    return cv2.GaussianBlur(sal.astype(np.float32), (9, 9), 2.5)


def subject_centres(frames: Iterator[np.ndarray], width: int) -> list[float]:
    """Per-frame horizontal subject centre (pixels) from motion and saliency."""
    centres: list[float] = []
    prev = None
    small_w = 128
    for frame in frames:
        h, w = frame.shape[:2]
        small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (small_w, max(8, int(small_w * h / w))),
                           interpolation=cv2.INTER_AREA).astype(np.float32)  # fmt: skip
        sal = _saliency(small)
        sal /= sal.max() + 1e-6
        weight = sal
        if prev is not None:
            motion = cv2.GaussianBlur(np.abs(small - prev), (9, 9), 2.5)
            if motion.max() > 4:  # real motion, not noise
                weight = 0.35 * sal + 0.65 * motion / motion.max()
        prev = small
        col = weight.sum(axis=0)
        x = float((col * np.arange(small_w)).sum() / max(col.sum(), 1e-6))
        centres.append(x * width / small_w)
    return centres


def smooth_path(centres: list[float], fps: Fraction, seconds: float, max_speed: float) -> list[float]:
    """Centred moving average over ``seconds``, then at most ``max_speed`` pixels per frame of movement."""
    if not centres:
        return []
    k = max(1, int(round(float(fps) * seconds)))
    c = np.asarray(centres, np.float64)
    padded = np.pad(c, (k, k), mode="edge")
    kernel = np.hanning(2 * k + 3)[1:-1]
    smooth = np.convolve(padded, kernel / kernel.sum(), mode="same")[k:-k]
    out = [float(smooth[0])]
    for x in smooth[1:]:
        out.append(out[-1] + float(np.clip(x - out[-1], -max_speed, max_speed)))
    return out


def crop_boxes(mode: str, width: int, height: int, count: int, aspect: Fraction, *, centres: list[float] | None = None,
               zoom: float = 1.2, pan_from: float = 0.0, pan_to: float = 1.0) -> list[tuple[float, float, float, float]]:  # fmt: skip
    """Per-frame crop ``(x, y, w, h)`` in source pixels (floats; sub-pixel for smooth moves)."""
    cw, ch = crop_size(width, height, aspect)
    boxes = []
    for i in range(count):
        t = i / max(1, count - 1)
        if mode == "subject":
            cx = centres[i] if centres else width / 2
            x = float(np.clip(cx - cw / 2, 0, width - cw))
            boxes.append((x, (height - ch) / 2, cw, ch))
        elif mode == "center":
            boxes.append(((width - cw) / 2, (height - ch) / 2, cw, ch))
        elif mode == "push_in":
            z = 1 + (zoom - 1) * (t * t * (3 - 2 * t))  # eased
            w, h = cw / z, ch / z
            boxes.append(((width - w) / 2, (height - h) / 2, w, h))
        elif mode == "pan":
            f = pan_from + (pan_to - pan_from) * (t * t * (3 - 2 * t))
            boxes.append(((width - cw) * f, (height - ch) / 2, cw, ch))
        else:
            raise EditError(
                f"unknown reframe mode {mode!r}", field="mode", hint="subject, center, push_in or pan"
            )
    return boxes


def render_crop(
    frame: np.ndarray, box: tuple[float, float, float, float], size: tuple[int, int]
) -> np.ndarray:
    """Crop ``box`` (sub-pixel) and scale it to ``size`` (w, h) with one affine warp."""
    x, y, w, h = box
    ow, oh = size
    sx, sy = ow / w, oh / h
    m = np.array([[sx, 0, -x * sx], [0, sy, -y * sy]], np.float32)
    interp = cv2.INTER_AREA if sx < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(frame, m, (ow, oh), flags=interp, borderMode=cv2.BORDER_REPLICATE)
