"""Take detected overlays out of the picture, frame by frame, in a bounded sliding window.

Order per frame:
1. **Inversion** where a static mark is see-through: ``B = (I − α·W) / (1 − α)`` (near-lossless for α < ~0.7).
2. **Temporal propagation** for opaque pixels: optical flow (DIS, on a ≤ 320 px copy) from the frame to its
   neighbours, completed inside the hole from its border, warps pixels that a neighbour shows into the hole;
   nearest neighbours first; each source gets a colour offset matched on a ring around the hole, and a source
   whose ring does not match (a cut, a flow failure) is skipped. What is still missing is taken from the previous
   *output* frame when it matches (this is what keeps spatial fills from flickering), else
3. **Spatial inpainting** by an :class:`Inpainter` (OpenCV Telea by default).
4. A feathered seam: the fill's inner border is blended over two pixels.

Memory is bounded by the window: ``2·reach + 1`` frames at full size.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from tasks.cleanup.detect import MarkEstimate

# --------------------------------------------------------------------------------------------- inpainters


@runtime_checkable
class Inpainter(Protocol):
    """Fills pixels that no frame of the window shows.

    ``fill(frame, hole)`` gets an RGB uint8 frame ``(H, W, 3)`` and a bool hole mask ``(H, W)`` and returns a frame
    of the same shape where only hole pixels changed. Implementations must be deterministic for a given input
    (temporal stability relies on it). A model backend (e.g. a diffusion or LaMa-style server) implements this
    Protocol and is passed to :func:`remove_overlays` / ``clean_video(inpainter=...)`` at the composition root;
    OpenCV's Telea is the default.
    """

    name: str

    def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class OpenCVInpainter:
    """``cv2.inpaint`` (``method`` "telea" or "ns") on a crop around the hole."""

    method: str = "telea"
    radius: int = 5
    name: str = "opencv-telea"

    def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
        if not hole.any():
            return frame
        ys, xs = np.nonzero(hole)
        h, w = hole.shape
        pad = 3 * self.radius + 4
        y0, y1 = max(0, ys.min() - pad), min(h, ys.max() + pad + 1)
        x0, x1 = max(0, xs.min() - pad), min(w, xs.max() + pad + 1)
        flag = cv2.INPAINT_TELEA if self.method == "telea" else cv2.INPAINT_NS
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        filled = cv2.inpaint(crop, hole[y0:y1, x0:x1].astype(np.uint8), self.radius, flag)
        out = frame.copy()
        out[y0:y1, x0:x1] = filled
        return out


# ------------------------------------------------------------------------------------------------- helpers


def invert_blend(frame: np.ndarray, mark: MarkEstimate) -> np.ndarray:
    """Undo ``I = α·W + (1−α)·B`` on the see-through pixels of ``mark``."""
    semi = mark.mask & ~mark.opaque
    if not semi.any():
        return frame
    ys, xs = np.nonzero(semi)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    sub = semi[y0:y1, x0:x1]
    im = frame[y0:y1, x0:x1].astype(np.float32)
    s = np.maximum(mark.slope[y0:y1, x0:x1], 1e-3)
    b = (im - mark.offset[y0:y1, x0:x1]) / s
    out = frame.copy()
    region = out[y0:y1, x0:x1]
    region[sub] = np.clip(b[sub] + 0.5, 0, 255).astype(np.uint8)
    return out


class _Flow:
    """Dense optical flow on a small grey copy; returned at full resolution in pixels."""

    def __init__(self, height: int, width: int, max_side: int = 320) -> None:
        self.scale = min(1.0, max_side / max(height, width))
        self.small = (max(8, int(round(width * self.scale))), max(8, int(round(height * self.scale))))
        self.full = (width, height)
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self.grid = (gx, gy)

    def gray(self, frame: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(cv2.resize(frame, self.small, interpolation=cv2.INTER_AREA), cv2.COLOR_RGB2GRAY)

    def flow(self, a: np.ndarray, b: np.ndarray, hole_small: np.ndarray) -> np.ndarray:
        """Flow from small grey ``a`` to ``b``, completed inside ``hole_small``, upscaled to full size."""
        f = self.dis.calc(a, b, None)
        if hole_small.any():
            f = _complete(f, hole_small)
        return cv2.resize(f, self.full, interpolation=cv2.INTER_LINEAR) / self.scale

    def warp(self, img: np.ndarray, flow: np.ndarray, nearest: bool = False) -> np.ndarray:
        mx, my = self.grid[0] + flow[..., 0], self.grid[1] + flow[..., 1]
        interp = cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR
        return cv2.remap(
            img, mx, my, interp, borderMode=cv2.BORDER_CONSTANT, borderValue=255 if nearest else 0
        )


def _complete(field: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """Replace ``field`` inside ``hole`` (dilated) by a normalised-convolution average of what surrounds it."""
    hole = cv2.dilate(hole.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    valid = (~hole).astype(np.float32)
    out = field.copy()
    ys, xs = np.nonzero(hole)
    size = int(max(ys.max() - ys.min(), xs.max() - xs.min(), 4)) | 1
    remaining = hole.copy()
    for k in (size // 4 | 1, size // 2 | 1, 2 * size + 1):
        num = cv2.blur(field * valid[..., None], (k, k))
        den = cv2.blur(valid, (k, k))[..., None]
        fill = remaining & (den[..., 0] > 0.05)
        out[fill] = (num / np.maximum(den, 1e-6))[fill]
        remaining &= ~fill
        if not remaining.any():
            break
    if remaining.any():
        out[remaining] = np.median(field[~hole], axis=0) if (~hole).any() else 0.0
    return out


def _ring(hole: np.ndarray, width: int) -> np.ndarray:
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return cv2.dilate(hole.astype(np.uint8), k).astype(bool) & ~hole


def _feather(out: np.ndarray, hole: np.ndarray, px: int = 2) -> np.ndarray:
    """Soften the fill's inner border so no hard seam shows."""
    if not hole.any():
        return out
    inner = hole & ~cv2.erode(hole.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)).astype(bool)
    if not inner.any():
        return out
    blurred = cv2.GaussianBlur(out, (2 * px + 1, 2 * px + 1), 0)
    res = out.copy()
    res[inner] = ((out[inner].astype(np.uint16) + blurred[inner]) // 2).astype(np.uint8)
    return res


@dataclass(frozen=True, slots=True)
class RemovalStats:
    frames: int
    hole_pixels: int
    from_neighbours: int
    from_previous: int
    from_inpainter: int


# ------------------------------------------------------------------------------------------------ the loop


def remove_overlays(
    frames: Iterable[np.ndarray],
    holes: Callable[[int], np.ndarray | None],
    *,
    mark: MarkEstimate | None = None,
    inpainter: Inpainter | None = None,
    reach: int = 8,
    stats_out: list[RemovalStats] | None = None,
) -> Iterator[np.ndarray]:
    """Yield cleaned frames for ``frames`` (RGB uint8, streamed).

    ``holes(i)`` gives frame ``i``'s opaque pixels to fill (bool, full frame) or ``None``; ``mark`` is inverted
    first where it is see-through. At most ``2·reach + 1`` frames are held.
    """
    inpainter = inpainter or OpenCVInpainter()
    offsets = [o for d in (1, 2, 3, 5, 8, 12, 16) if d <= reach for o in (d, -d)]
    buf: deque[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = deque()  # (index, frame, hole, small grey)
    flow: _Flow | None = None
    prev_out: tuple[np.ndarray, np.ndarray] | None = None  # (output frame, its small grey)
    counts = [0, 0, 0, 0, 0]
    it = iter(frames)
    exhausted = False
    next_index = 0
    done = 0
    while True:
        while not exhausted and (not buf or buf[-1][0] < done + reach):
            try:
                frame = next(it)
            except StopIteration:
                exhausted = True
                break
            if flow is None:
                flow = _Flow(*frame.shape[:2])
            if mark is not None:
                frame = invert_blend(frame, mark)
            hole = holes(next_index)
            hole = np.zeros(frame.shape[:2], bool) if hole is None else hole
            buf.append((next_index, frame, hole, flow.gray(frame)))
            next_index += 1
        if not buf or done >= next_index:
            break
        pos = done - buf[0][0]
        index, frame, hole, small = buf[pos]
        counts[0] += 1
        if not hole.any():
            out = frame
        else:
            assert flow is not None
            out = _fill_one(frame, hole, small, buf, pos, offsets, flow, prev_out, inpainter, counts)
        prev_out = (out, flow.gray(out)) if flow is not None else None
        yield out
        done += 1
        while buf and buf[0][0] < done - reach:
            buf.popleft()
    if stats_out is not None:
        stats_out.append(RemovalStats(*counts))


def _fill_one(
    frame, hole, small, buf, pos, offsets, flow: _Flow, prev_out, inpainter: Inpainter, counts
) -> np.ndarray:  # noqa: ANN001
    h, w = hole.shape
    hole_small = cv2.resize(hole.astype(np.uint8), flow.small, interpolation=cv2.INTER_NEAREST).astype(bool)
    ring = _ring(hole, max(3, int(round(min(h, w) / 120))))
    missing = hole.copy()
    out = frame.copy()
    counts[1] += int(hole.sum())
    cur = frame.astype(np.float32)
    tol = 14.0
    for off in offsets:
        j = pos + off
        if not (0 <= j < len(buf)) or not missing.any():
            continue
        _, nframe, nhole, nsmall = buf[j]
        f = flow.flow(small, nsmall, hole_small)
        warped = flow.warp(nframe, f)
        nh = flow.warp(nhole.astype(np.uint8), f, nearest=True).astype(bool)
        valid_ring = ring & ~nh
        if valid_ring.sum() < 0.3 * ring.sum():
            continue
        diff = cur[valid_ring] - warped[valid_ring].astype(np.float32)
        if float(np.mean(np.abs(diff))) > tol:
            continue  # flow failed or a cut: this neighbour does not line up
        shift = np.median(diff, axis=0)
        take = missing & ~nh
        if take.any():
            out[take] = np.clip(warped[take].astype(np.float32) + shift, 0, 255).astype(np.uint8)
            missing &= ~take
            counts[2] += int(take.sum())
    if missing.any() and prev_out is not None:
        pframe, psmall = prev_out
        f = flow.flow(small, psmall, hole_small)
        warped = flow.warp(pframe, f)
        diff = cur[ring] - warped[ring].astype(np.float32)
        if ring.any() and float(np.mean(np.abs(diff))) <= tol * 0.6:
            # Blend the propagated fill with a fresh spatial fill: stable, yet it follows slow changes.
            shift = np.median(diff, axis=0)
            spatial = inpainter.fill(out, missing)
            prop = np.clip(warped[missing].astype(np.float32) + shift, 0, 255)
            out[missing] = (0.8 * prop + 0.2 * spatial[missing].astype(np.float32) + 0.5).astype(np.uint8)
            counts[3] += int(missing.sum())
            missing[:] = False
    if missing.any():
        out = inpainter.fill(out, missing)
        counts[4] += int(missing.sum())
    return _feather(out, hole)
