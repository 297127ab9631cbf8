"""Take detected overlays out of the picture, working only on crops around the masks, in a bounded window.

The pixels outside the masks never change, so everything below happens on *regions*: each connected group of
hole pixels (a logo, a subtitle line) padded by ``margin`` pixels. Per frame and region:

1. **Inversion** where a static mark is see-through: ``B = (I − α·W) / (1 − α)`` (near-lossless for α < ~0.7),
   on those pixels only.
2. **Temporal fill** for opaque pixels. Source frames are chosen by *mask overlap*: nearest first, first the
   frames that each show (are unmasked at) much of what no chosen frame shows, then those that show hole pixels
   that still have too few candidates, plus a spread of offsets for static marks that only camera motion
   reveals. Optical flow (DIS) runs between *consecutive*
   frames on the region's grey crop — holes pre-filled so the overlay's own edges do not pin the flow to zero,
   reduced to ≤ ``flow_side`` px, completed inside each hole from its border — once per pair, and is chained
   to reach sources further away; it warps the source's pixels into the hole. A source whose ring around the
   hole does not line up (a cut, a flow failure) is dropped; the others get a colour offset matched on that
   ring. Each hole pixel takes the per-channel **median of its nearest few**
   aligned, unmasked candidates.
3. What no frame shows comes from the previous *output* warped forward when it lines up — as it is where a
   frame showed it and the mask has moved off it since, else blended with a fresh spatial fill (no flicker, yet
   it follows slow changes) — else from the **spatial inpainter** (an :class:`Inpainter`; by default a harmonic
   membrane fill, smoother than Telea) on the region's crop. Each output pixel's *age* says which (how many
   frames ago what it shows was seen): :mod:`tasks.cleanup.twoway` runs a backward pass where many were not
   seen now.
4. A feathered seam: the fill's inner border is blended over two pixels.

A frame's regions are independent (their boxes do not overlap): two threads fill them side by side, and go on
with the next frame's regions, each once the regions of this frame under it are written.

Memory: the frames being filled and their look-ahead are held whole (``reach + 2`` frames, with the outputs of
the two being filled); frames already written are kept only as the crops later frames' regions need (``reach`` of
them).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from tasks.cleanup.detect import MarkEstimate, merge_overlapping

Box = tuple[int, int, int, int]  # (y0, y1, x0, x1), half-open, full-frame coordinates
SPATIAL = 255  # the age of a pixel painted now (no frame showed what is there) ...
PAINTED = 128  # ... and ages from here up are painted pixels carried on; below, what a frame showed, carried

# --------------------------------------------------------------------------------------------- inpainters


@runtime_checkable
class Inpainter(Protocol):
    """Fills pixels that no frame of the window shows.

    ``fill(frame, hole)`` gets an RGB uint8 image ``(H, W, 3)`` and a bool hole mask ``(H, W)`` and returns an
    image of the same shape where only hole pixels changed. The image is usually a *crop* around one region
    (the hole plus a margin of real pixels), not the whole frame. Implementations must be deterministic for a
    given input (temporal stability relies on it) and safe to call from two threads at once for different crops
    (regions are filled in parallel; ``RemovalSettings(workers=1)`` for one that is not). A model
    backend (e.g. a diffusion or LaMa-style server) implements this Protocol and is passed to
    :func:`remove_overlays` / ``clean_video(inpainter=...)`` at the composition root; :class:`HarmonicInpainter`
    is the default, :class:`OpenCVInpainter` (Telea / Navier-Stokes) the classic one.
    """

    name: str

    def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray: ...


def _tight(hole: np.ndarray) -> tuple[int, int, int, int] | None:
    """``(y0, y1, x0, x1)`` of the hole's pixels, or None when there are none."""
    rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
    if not len(rows):
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _hole_box(hole: np.ndarray, pad: int) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)``: the bounding box of a non-empty hole, grown by ``pad`` and clipped to the frame."""
    y0, y1, x0, x1 = _tight(hole)
    h, w = hole.shape
    return max(0, y0 - pad), min(h, y1 + pad), max(0, x0 - pad), min(w, x1 + pad)


@dataclass(frozen=True, slots=True)
class OpenCVInpainter:
    """``cv2.inpaint`` (``method`` "telea" or "ns") on a crop around the hole."""

    method: str = "telea"
    radius: int = 5
    name: str = "opencv-telea"

    def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
        if not hole.any():
            return frame
        y0, y1, x0, x1 = _hole_box(hole, 3 * self.radius + 4)
        flag = cv2.INPAINT_TELEA if self.method == "telea" else cv2.INPAINT_NS
        crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
        filled = cv2.inpaint(crop, hole[y0:y1, x0:x1].astype(np.uint8), self.radius, flag)
        out = frame.copy()
        out[y0:y1, x0:x1] = filled
        return out


_CROSS = np.array([[0, 0.25, 0], [0.25, 0, 0.25], [0, 0.25, 0]], np.float32)


@dataclass(frozen=True, slots=True)
class HarmonicInpainter:
    """The smoothest fill: a membrane (Laplace) interpolation of the hole's border, solved coarse to fine.

    What no frame shows is unknown; the smooth interpolation is the fill with the least squared error on
    average (on tears_of_steel's opaque logo, per frame, given the mask, it beat Telea by ~2 dB PSNR) and it
    cannot invent edges that then flicker. Each pyramid level runs Jacobi sweeps from the upsampled coarser
    solution; the finest level gets more sweeps for thicker holes (convergence goes with the square of the
    distance to the border).
    """

    margin: int = 16  # real pixels around the hole used as the boundary (and for the coarse levels)
    coarse_sweeps: int = 24
    max_fine_sweeps: int = 60
    name: str = "harmonic"

    def fill(self, frame: np.ndarray, hole: np.ndarray) -> np.ndarray:
        if not hole.any():
            return frame
        y0, y1, x0, x1 = _hole_box(hole, self.margin)
        m = hole[y0:y1, x0:x1]
        if m.all():
            return frame  # nothing to interpolate from
        levels = [(frame[y0:y1, x0:x1].astype(np.float32), m)]
        while min(levels[-1][1].shape) > 12:
            f, lm = levels[-1]
            valid = (~lm).astype(np.float32)
            size = (lm.shape[1] // 2, lm.shape[0] // 2)
            num = cv2.resize(f * valid[..., None], size, interpolation=cv2.INTER_AREA)
            den = cv2.resize(valid, size, interpolation=cv2.INTER_AREA)
            levels.append((num / np.maximum(den, 1e-6)[..., None], den < 0.5))
        depth = cv2.distanceTransform(m.astype(np.uint8), cv2.DIST_L2, 3).max()
        fine = int(min(self.max_fine_sweeps, max(8, 2 * depth * depth)))
        sol: np.ndarray | None = None
        for i, (f, lm) in enumerate(reversed(levels)):
            u = f.copy()
            m8 = lm.astype(np.uint8)
            if sol is None:
                u[lm] = u[~lm].mean(axis=0) if (~lm).any() else 128.0
            else:
                cv2.copyTo(cv2.resize(sol, (lm.shape[1], lm.shape[0]), interpolation=cv2.INTER_LINEAR), m8, u)
            if lm.any():  # sweep only the hole's box and its 1 px border: nothing else changes or is read
                a0, a1, b0, b1 = _hole_box(lm, 1)
                us, ms = np.ascontiguousarray(u[a0:a1, b0:b1]), m8[a0:a1, b0:b1]
                for _ in range(fine if i == len(levels) - 1 else self.coarse_sweeps):
                    cv2.copyTo(
                        cv2.filter2D(us, -1, _CROSS, borderType=cv2.BORDER_REPLICATE), ms, us
                    )  # Jacobi sweep
                u[a0:a1, b0:b1] = us
            sol = u
        assert sol is not None
        out = frame.copy()
        out[y0:y1, x0:x1][m] = np.clip(sol[m] + 0.5, 0, 255).astype(np.uint8)
        return out


# ------------------------------------------------------------------------------------------------- helpers


class Inversion:
    """A mark's see-through pixels as flat indices with their ``α·W`` and ``1/(1−α)``: built once per clip."""

    def __init__(self, mark: MarkEstimate) -> None:
        semi = (mark.mask & ~mark.opaque).ravel()
        self.index = np.flatnonzero(semi)
        self.offset = mark.offset.reshape(-1, 3)[self.index]
        self.gain = 1.0 / np.maximum(mark.slope.reshape(-1, 3)[self.index], 1e-3)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        if not len(self.index):
            return frame
        out = frame.copy()
        flat = out.reshape(-1, 3)
        b = (flat[self.index].astype(np.float32) - self.offset) * self.gain
        flat[self.index] = np.clip(b + 0.5, 0, 255).astype(np.uint8)
        return out


def invert_blend(frame: np.ndarray, mark: MarkEstimate) -> np.ndarray:
    """Undo ``I = α·W + (1−α)·B`` on the see-through pixels of ``mark``."""
    return Inversion(mark)(frame)


def regions(hole: np.ndarray, margin: int) -> tuple[Box, ...]:
    """Padded boxes around the connected groups of ``hole`` (groups closer than ``margin`` share a box)."""
    tight = _tight(hole)
    if tight is None:
        return ()
    h, w = hole.shape
    ty0, ty1, tx0, tx1 = tight
    sub = hole[ty0:ty1, tx0:tx1].astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_RECT, (margin | 1, margin | 1))
    n, labels = cv2.connectedComponents(cv2.dilate(sub, k))
    py, px = np.nonzero(sub)  # the hole pixels once, then grouped by label (not one full-size pass per label)
    pl = labels[py, px]
    boxes = []
    for label in range(1, n):
        of = pl == label
        gy, gx = py[of], px[of]
        boxes.append([max(0, ty0 + gy.min() - margin), min(h, ty0 + gy.max() + 1 + margin),
                      max(0, tx0 + gx.min() - margin), min(w, tx0 + gx.max() + 1 + margin)])  # fmt: skip
    # snapped outward to a grid, so a region keeps its box while its hole changes a little (a new subtitle cue
    # of about the same length) and the flows between consecutive frames can be reused
    snap = 16
    for b in boxes:
        b[0], b[2] = b[0] // snap * snap, b[2] // snap * snap
        b[1], b[3] = min(h, -(-b[1] // snap) * snap), min(w, -(-b[3] // snap) * snap)
    # padded boxes that overlap become one
    return tuple(sorted(tuple(int(v) for v in b) for b in merge_overlapping(boxes)))  # type: ignore[misc]


class _Completion:
    """Replaces a flow field inside a (dilated) hole by a normalised-convolution average of what surrounds it,
    at growing scales until every hole pixel is reached.

    Built once per frame and region (the weights depend only on the hole) and applied to every source's flow.
    """

    def __init__(self, hole: np.ndarray) -> None:
        # grown by about a DIS patch and a half: near the hole the flow is pulled towards the pre-filled blob,
        # which does not move (on a 2 px/frame pan a 5 px growth gave ~8 % too little motion)
        self.hole = cv2.dilate(hole.astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)
        self.valid = (~self.hole).astype(np.float32)[..., None]
        self.steps: list[tuple[int, np.ndarray, np.ndarray]] = []  # (kernel, pixels filled, their weight)
        if not self.hole.any() or self.hole.all():
            return
        ys, xs = np.nonzero(self.hole)
        size = int(max(ys.max() - ys.min(), xs.max() - xs.min(), 4)) | 1
        remaining = self.hole.copy()
        for k in (size // 4 | 1, size // 2 | 1, 2 * size + 1):
            den = cv2.blur(self.valid[..., 0], (k, k))
            fill = remaining & (den > 0.05)
            if fill.any():
                self.steps.append((k, np.flatnonzero(fill), den[fill][:, None]))
            remaining &= ~fill
            if not remaining.any():
                break
        self.rest = np.flatnonzero(remaining)

    def __call__(self, field: np.ndarray) -> np.ndarray:
        if not self.steps:
            return field
        out = field.copy()
        flat = out.reshape(-1, field.shape[2])  # pixels addressed by flat index (cheaper than bool masks)
        weighted = field * self.valid
        for k, fill, den in self.steps:
            flat[fill] = cv2.blur(weighted, (k, k)).reshape(flat.shape)[fill] / den
        if len(self.rest):
            flat[self.rest] = np.median(field[~self.hole], axis=0)
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


def _median_first(values: np.ndarray, valid: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the median of its first ``keep`` valid candidates.

    ``values`` (K, N, 3) float32 in preference order, ``valid`` (K, N) bool → ``(N, 3)`` medians and ``(N,)``
    bool (pixels that had at least one candidate).
    """
    rank = np.cumsum(valid, axis=0)  # (K, N) 1-based rank of each valid candidate
    n = np.minimum(rank[-1], keep)
    first = np.zeros((keep, *values.shape[1:]), np.float32)  # (keep, N, 3): the first valid ones, packed
    for k in range(values.shape[0]):
        sel = np.flatnonzero(valid[k] & (rank[k] <= keep))
        first[rank[k, sel] - 1, sel] = values[k, sel]
    if keep == 3:  # the common case, without a sort: median of three, mean of two, or the one
        a, b, c = first
        med3 = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
        med = np.where((n == 3)[:, None], med3, np.where((n == 2)[:, None], 0.5 * (a + b), a))
        return med, n > 0
    v = np.where((np.arange(keep)[:, None] < n[None, :])[..., None], first, np.nan)
    v.sort(axis=0)  # NaNs (missing) go last
    lo = np.broadcast_to(np.maximum((n - 1) // 2, 0)[None, :, None], (1, *v.shape[1:]))
    hi = np.broadcast_to(np.maximum(n // 2, 0)[None, :, None], (1, *v.shape[1:]))
    med = 0.5 * (np.take_along_axis(v, lo, 0)[0] + np.take_along_axis(v, hi, 0)[0])
    return med, n > 0


@dataclass(frozen=True, slots=True)
class RemovalStats:
    frames: int
    hole_pixels: int
    from_neighbours: int
    from_previous: int
    from_inpainter: int


# ------------------------------------------------------------------------------------------------ the window


@dataclass(slots=True)
class _Slot:
    """One frame of the window: whole while current or ahead, only the needed crops once written."""

    index: int
    frame: np.ndarray | None  # (H, W, 3) uint8, after inversion
    hole_at: tuple[int, int]  # top-left of ``hole`` in the frame
    hole: np.ndarray  # (h, w) bool, tight around the frame's hole pixels (0×0 when none)
    boxes: tuple[Box, ...]
    crops: dict[Box, np.ndarray] = field(default_factory=dict)  # once written: box → RGB crop
    grays: dict[Box, np.ndarray] = field(default_factory=dict)  # box → small grey crop, holes pre-filled
    holes: dict[Box, np.ndarray] = field(default_factory=dict)  # box → hole_in(box), read-only
    rgbas: dict[Box, np.ndarray] = field(default_factory=dict)  # box → RGB crop + hole as a 4th channel (255)

    def crop(self, box: Box) -> np.ndarray | None:
        frame = self.frame  # read once: the frame is dropped (its crops kept first) while fills may read it
        if frame is not None:
            return frame[box[0] : box[1], box[2] : box[3]]
        return self.crops.get(box)

    def rgba(self, box: Box) -> np.ndarray | None:
        """The crop with its hole as a 4th channel (255 = hole), warped as one image; made once per box (a
        frame is a source for up to ``sources`` others)."""
        out = self.rgbas.get(box)
        if out is None:
            crop = self.crop(box)
            if crop is None:
                return None
            out = np.empty((*crop.shape[:2], 4), np.uint8)
            out[..., :3] = crop
            out[..., 3] = self.hole_in(box) * np.uint8(255)
            self.rgbas[box] = out
        return out

    def hole_in(self, box: Box) -> np.ndarray:
        """The hole at ``box``'s size (read-only: it is cached and shared)."""
        cached = self.holes.get(box)
        if cached is not None:
            return cached
        out = np.zeros((box[1] - box[0], box[3] - box[2]), bool)
        if self.hole.size:
            y, x = self.hole_at
            hy0, hy1 = max(y, box[0]), min(y + self.hole.shape[0], box[1])
            hx0, hx1 = max(x, box[2]), min(x + self.hole.shape[1], box[3])
            if hy0 < hy1 and hx0 < hx1:
                out[hy0 - box[0] : hy1 - box[0], hx0 - box[2] : hx1 - box[2]] = self.hole[
                    hy0 - y : hy1 - y, hx0 - x : hx1 - x
                ]
        out.flags.writeable = False
        self.holes[box] = out
        return out

    def keep_only(self, boxes: set[Box]) -> None:
        """The frame has been written: keep the crops of ``boxes`` (what later frames may take from it)."""
        if self.frame is None:
            return
        self.crops = {b: self.frame[b[0] : b[1], b[2] : b[3]].copy() for b in boxes}
        self.grays = {b: g for b, g in self.grays.items() if b in boxes}
        self.holes = {b: g for b, g in self.holes.items() if b in boxes}
        self.rgbas = {b: g for b, g in self.rgbas.items() if b in boxes}
        self.frame = None


def _prefilled_gray(rgb: np.ndarray, hole: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Small grey copy with hole pixels replaced by a smooth average of their surroundings."""
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    if hole.any():
        valid = (~hole).astype(np.float32)
        k = max(3, (min(hole.shape) // 2) | 1)
        num = cv2.blur(g * valid, (k, k))
        den = cv2.blur(valid, (k, k))
        smooth = np.where(
            den > 1e-3, num / np.maximum(den, 1e-3), float(g[~hole].mean()) if valid.any() else 128.0
        )
        g = np.where(hole, smooth, g)
    small = cv2.resize(g, size, interpolation=cv2.INTER_AREA) if size != (g.shape[1], g.shape[0]) else g
    return np.clip(small + 0.5, 0, 255).astype(np.uint8)


_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
            "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}  # fmt: skip


class _Flows:
    """Optical flow between region crops, at reduced size: DIS between *consecutive* frames only (each pair
    once, completed inside the first frame's hole), chained for frames further apart and memoised.

    Chaining small steps follows motions a direct flow on a small crop cannot (a pan moves a picture further
    than the crop's margin in a dozen frames), and the steps are shared by every frame that needs them.
    """

    def __init__(self, max_side: int, preset: str, slot: Callable[[int], _Slot | None]) -> None:
        self.max_side = max_side
        self.preset = preset
        self.local = threading.local()  # one DIS object per thread: regions are filled in parallel
        self.slot = slot
        self.cache: dict[tuple[int, int, Box], np.ndarray | None] = {}  # (from, to, box) → small displacement
        self.completions: dict[tuple[int, Box], _Completion] = {}
        self.grids: dict[tuple[int, int], np.ndarray] = {}

    @property
    def dis(self) -> cv2.DISOpticalFlow:
        dis = getattr(self.local, "dis", None)
        if dis is None:
            dis = self.local.dis = cv2.DISOpticalFlow_create(_PRESETS[self.preset])
            # the fast presets stop at 1/4 resolution; crops are small and sub-pixel accuracy matters: 1/2
            dis.setFinestScale(min(dis.getFinestScale(), 1))
        return dis

    def small_size(self, box: Box) -> tuple[int, int]:
        h, w = box[1] - box[0], box[3] - box[2]
        s = min(1.0, self.max_side / max(h, w))
        return max(8, int(round(w * s))), max(8, int(round(h * s)))

    def grid(self, h: int, w: int) -> np.ndarray:
        g = self.grids.get((h, w))
        if g is None:
            gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
            g = self.grids[(h, w)] = np.dstack([gx, gy])
        return g

    def gray(self, slot: _Slot, box: Box) -> np.ndarray | None:
        g = slot.grays.get(box)
        if g is None:
            crop = slot.crop(box)
            if crop is None:
                return None
            g = _prefilled_gray(crop, slot.hole_in(box), self.small_size(box))
            slot.grays[box] = g
        return g

    def _step(self, a: _Slot, b: _Slot, box: Box) -> np.ndarray | None:
        ga, gb = self.gray(a, box), self.gray(b, box)
        if ga is None or gb is None:
            return None
        complete = self.completions.get((a.index, box))
        if complete is None:
            hole = cv2.resize(
                a.hole_in(box).astype(np.uint8), self.small_size(box), interpolation=cv2.INTER_NEAREST
            )
            complete = self.completions[(a.index, box)] = _Completion(hole.astype(bool))
        return complete(self.dis.calc(ga, gb, None))

    def small(self, i: int, j: int, box: Box) -> np.ndarray | None:
        """Displacement (small size) from frame ``i``'s crop to frame ``j``'s."""
        key = (i, j, box)
        cached = self.cache.get(key, self)  # (self: not computed yet; a computed displacement may be None)
        if cached is not self:
            return cached
        s = 1 if j > i else -1
        if i + s == j:
            a, b = self.slot(i), self.slot(j)
            out = self._step(a, b, box) if a is not None and b is not None else None
            self.cache[key] = out
            return out
        before = self.small(i, j - s, box)  # shares its chain with every nearer source of frame i
        last = self.small(j - s, j, box)
        if before is None or last is None:
            out = None
        else:  # go as far as the chain got, then take the last step from where it landed
            h, w = before.shape[:2]
            landed = self.grid(h, w) + before
            out = before + cv2.remap(last, landed, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        self.cache[key] = out
        return out

    def maps(self, i: int, j: int, box: Box, part: Box | None = None) -> np.ndarray | None:
        """Where each pixel of frame ``i``'s crop is in frame ``j``'s: absolute positions in the crop, at crop
        size or for the window ``part`` of it (``(y0, y1, x0, x1)`` in crop coordinates) only."""
        small = self.small(i, j, box)
        if small is None:
            return None
        h, w = box[1] - box[0], box[3] - box[2]
        y0, y1, x0, x1 = part or (0, h, 0, w)
        f = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]
        return f * (w / small.shape[1]) + self.grid(h, w)[y0:y1, x0:x1]

    def forget(self, done: int, reach: int) -> None:
        """Frame ``done`` is next: keep the single steps inside the window, drop written frames' chains."""
        # (list() copies the keys in one step: the next frame's fills may be adding entries meanwhile)
        stale = [k for k in list(self.cache) if k[0] < done - reach - 1 or (abs(k[1] - k[0]) > 1 and k[0] < done)]
        for k in stale:
            del self.cache[k]
        for k in [k for k in list(self.completions) if k[0] < done - reach - 1]:
            del self.completions[k]


def _warp(img: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """``img`` sampled at ``maps`` (absolute coordinates, (h, w, 2) float32); outside it counts as a hole
    (255 in a 4th channel) and black."""
    border = (0, 0, 0, 255) if img.ndim == 3 and img.shape[2] == 4 else 0
    return cv2.remap(img, maps, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=border)


# ------------------------------------------------------------------------------------------------ the loop


@dataclass(frozen=True, slots=True)
class RemovalSettings:
    """Knobs of :func:`remove_overlays` (the defaults are what the benchmark measured)."""

    reach: int = 24  # frames before and after the current one that may be sources
    margin: int = 32  # real pixels around each hole group in a region crop
    sources: int = 8  # at most this many source frames per region and frame (flows computed)
    spread: int = 4  # source frames at spread-out offsets when the mask hides pixels in place (static marks)
    offsets: tuple[int, ...] = (3, 12, 6, 24, 1, 9, 18, 2)  # those offsets, in order of preference
    reveal: float = 0.5  # a frame showing this share of the hole pixels no chosen frame shows is taken first
    per_pixel: int = 3  # each hole pixel takes the median of its nearest this-many aligned candidates
    # flow runs on region crops reduced to at most this many pixels a side: 192 instead of 256 took 12 % off the
    # 720p bench clip's removal for -0.02..+0.02 dB in its logos and subtitles (128: -0.3 / -0.75 dB)
    flow_side: int = 192
    flow_preset: str = "fast"  # DIS preset: "ultrafast", "fast" or "medium"
    tolerance: float = 10.0  # mean |difference| on the ring above which a source does not line up
    carry: float = 0.8  # weight of the warped previous output vs a fresh spatial fill where it was painted
    workers: int = 2  # threads filling regions side by side (a frame's, and the next one's: see _Frame)


def remove_overlays(
    frames: Iterable[np.ndarray],
    holes: Callable[[int], np.ndarray | None],
    *,
    mark: MarkEstimate | None = None,
    inpainter: Inpainter | None = None,
    settings: RemovalSettings | None = None,
    stats_out: list[RemovalStats] | None = None,
) -> Iterator[np.ndarray]:
    """Yield cleaned frames for ``frames`` (RGB uint8, streamed); pixels outside holes and mark untouched.

    ``holes(i)`` gives frame ``i``'s opaque pixels to fill (bool, full frame) or ``None``; it is called once
    per frame, right after frame ``i`` has been drawn from ``frames``. ``mark`` is inverted first where it is
    see-through. About ``reach + 4`` whole frames are held (the current one, those ahead, the outputs of the
    frames being filled and of the last one), plus region crops of ``reach`` written ones.
    """
    for out, _ in remove_overlays_aged(
        frames, holes, mark=mark, inpainter=inpainter, settings=settings, stats_out=stats_out
    ):
        yield out


def remove_overlays_aged(
    frames: Iterable[np.ndarray],
    holes: Callable[[int], np.ndarray | None],
    *,
    mark: MarkEstimate | None = None,
    inpainter: Inpainter | None = None,
    settings: RemovalSettings | None = None,
    stats_out: list[RemovalStats] | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """:func:`remove_overlays`, each frame with its *age* (uint8, full frame; ``None`` for a frame without
    holes): per pixel, 0 where a frame showed what it holds, ``n`` < :data:`PAINTED` where that was carried ``n``
    frames from the previous output, :data:`SPATIAL` where it was painted now, between where it was painted
    earlier and carried."""
    cfg = settings or RemovalSettings()
    inpainter = inpainter or HarmonicInpainter()
    pool = ThreadPoolExecutor(cfg.workers, thread_name_prefix="fill") if cfg.workers > 1 else None
    try:
        yield from _remove(frames, holes, mark, inpainter, cfg, stats_out, pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)


QUEUED = 2  # frames whose regions may be filling at once (720p bench clip, removal alone on 2 threads: 1, 2,
# 3, 4 frames took 8.6, 7.1-7.2, 7.1, 6.9 s; the outputs are bit-identical)


def _remove(
    frames: Iterable[np.ndarray], holes: Callable[[int], np.ndarray | None], mark: MarkEstimate | None,
    inpainter: Inpainter, cfg: RemovalSettings, stats_out: list[RemovalStats] | None,
    pool: ThreadPoolExecutor | None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:  # fmt: skip
    """Cleaned frames with their age (see :func:`_fill_region`; ``None`` where a frame has no hole).

    The next frames' regions are queued while this frame's still run (:class:`_Frame`), so a thread that
    finished its region of this frame goes on with the next frame instead of waiting for the other region.
    """
    slots: dict[int, _Slot] = {}  # the window by frame index (the fill threads look frames up here)
    flows = _Flows(cfg.flow_side, cfg.flow_preset, slots.get)
    invert = Inversion(mark) if mark is not None else None
    buf: deque[_Slot] = deque()
    counts = [0, 0, 0, 0, 0]
    last: tuple[np.ndarray, _Slot] | None = None  # the last frame's hole and slot: consecutive holes often match
    it = iter(frames)
    exhausted = False
    next_index = 0
    queued: deque[_Frame] = deque()  # frames whose regions are filling, oldest first
    prev: _Frame | None = None  # the last queued frame that had holes: its output is the next one's "previous"
    done = 0
    while True:
        while len(queued) < QUEUED:
            i = done + len(queued)  # the next frame to queue, once the frames it may take from are read
            while not exhausted and (not buf or buf[-1].index < i + cfg.reach):
                try:
                    frame = next(it)
                except StopIteration:
                    exhausted = True
                    break
                if invert is not None:
                    frame = invert(frame)
                hole = holes(next_index)
                if hole is not None and last is not None and np.array_equal(hole, last[0]):
                    same = last[1]  # a static mark, a subtitle cue held: the same regions (labelling is costly)
                    slot = _Slot(next_index, frame, same.hole_at, same.hole, same.boxes)
                else:
                    slot = _make_slot(next_index, frame, hole, cfg.margin)
                last = (hole, slot) if hole is not None else None
                buf.append(slot)
                slots[next_index] = slot
                next_index += 1
            if i >= next_index:
                break
            window = tuple(s for s in buf if abs(s.index - i) <= cfg.reach)
            job = _Frame(slots[i], window, prev, flows, inpainter, cfg, pool)
            queued.append(job)
            prev = job if job.slot.boxes else None
        if not queued:
            break
        job = queued.popleft()
        out, age = job.result(counts)
        yield out, age
        # later frames (within reach) may take from this one: keep only the crops their regions need
        needed = {b for s in buf if done < s.index <= done + cfg.reach for b in s.boxes}
        job.slot.keep_only(needed)
        done += 1
        while buf and buf[0].index < done - cfg.reach:
            del slots[buf.popleft().index]
        flows.forget(done, cfg.reach)
    if stats_out is not None:
        stats_out.append(RemovalStats(*counts))


class _Frame:
    """One frame's regions, queued on the fill threads (run at once without them), each written into the
    frame's output as it is filled. A region of the next frame waits only for this frame's regions that overlap
    it (the previous output it may carry from there); regions of one frame do not overlap."""

    def __init__(
        self, slot: _Slot, window: tuple[_Slot, ...], prev: _Frame | None, flows: _Flows,
        inpainter: Inpainter, cfg: RemovalSettings, pool: ThreadPoolExecutor | None,
    ) -> None:  # fmt: skip
        assert slot.frame is not None
        self.slot = slot
        self.age: np.ndarray | None = None
        self.fills: list[Future] = []
        self.boxes: list[Box] = []
        if not slot.boxes:
            self.out = slot.frame
            return
        self.out = slot.frame.copy()
        self.age = np.zeros(self.out.shape[:2], np.uint8)
        carried = (prev.out, prev.age) if prev is not None else None

        def fill(box: Box, after: list[Future]) -> list[int]:
            for f in after:
                f.result()  # the previous frame's output under this box is complete
            mine = [0] * 5  # per region: the threads do not share a counter
            region, region_age = _fill_region(slot, box, window, flows, carried, inpainter, cfg, mine)
            self.out[box[0] : box[1], box[2] : box[3]] = region
            self.age[box[0] : box[1], box[2] : box[3]] = region_age  # type: ignore[index]
            return mine

        # the largest first, so two threads finish a frame's regions close together
        for box in sorted(slot.boxes, key=lambda b: -(b[1] - b[0]) * (b[3] - b[2])):
            after = [f for b, f in zip(prev.boxes, prev.fills, strict=True) if _overlap(b, box)] if prev else []
            if pool is not None:
                self.fills.append(pool.submit(fill, box, after))
            else:
                done: Future = Future()
                done.set_result(fill(box, after))
                self.fills.append(done)
            self.boxes.append(box)

    def result(self, counts: list[int]) -> tuple[np.ndarray, np.ndarray | None]:
        """The cleaned frame and its age, once every region is filled; adds the regions' counts."""
        counts[0] += 1
        for f in self.fills:
            counts[1:] = [a + b for a, b in zip(counts[1:], f.result()[1:], strict=True)]
        return self.out, self.age


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[1] and b[0] < a[1] and a[2] < b[3] and b[2] < a[3]


def _make_slot(index: int, frame: np.ndarray, hole: np.ndarray | None, margin: int) -> _Slot:
    tight = _tight(hole) if hole is not None else None
    if hole is None or tight is None:
        return _Slot(index, frame, (0, 0), np.zeros((0, 0), bool), ())
    y0, y1, x0, x1 = tight
    return _Slot(index, frame, (y0, x0), hole[y0:y1, x0:x1].copy(), regions(hole, margin))


def _hidden_in_place(buf: tuple[_Slot, ...], slot: _Slot, box: Box, pixels: np.ndarray) -> np.ndarray:
    """For the ``pixels`` (bool, crop size) of ``slot``'s region, whether every frame of the window hides them
    where they are (row-major order)."""
    hidden = np.ones(pixels.shape, bool)
    done: set[int] = set()  # frames of one static mark or one held cue share their hole: AND each once
    for s in buf:
        if s.index != slot.index and id(s.hole) not in done and s.crop(box) is not None:
            done.add(id(s.hole))
            hidden &= s.hole_in(box)
    return hidden[pixels]


def _choose_sources(
    slot: _Slot, box: Box, hole: np.ndarray, buf: tuple[_Slot, ...], cfg: RemovalSettings
) -> list[_Slot]:
    """Source frames for one region, nearest first: those that show much of the hole no chosen frame shows,
    those that show hole pixels still short of candidates (both judged without motion), then a spread of
    offsets (camera motion reveals what a static mark hides)."""
    window = [s for s in buf if s.index != slot.index and s.crop(box) is not None]
    window.sort(key=lambda s: (abs(s.index - slot.index), s.index < slot.index))
    hp = hole
    need = np.zeros(int(hp.sum()), np.int32)
    chosen: list[_Slot] = []
    seen: dict[int, np.ndarray] = {}  # frames of one static mark or one held cue share their hole: index it once
    ty0, ty1, tx0, tx1 = _tight(hp) or (0, 0, 0, 0)  # the hole pixels' bounding window, in row-major order
    hp_tight = hp[ty0:ty1, tx0:tx1]

    def showing(s: _Slot) -> np.ndarray:
        out = seen.get(id(s.hole))
        if out is None:
            out = seen[id(s.hole)] = ~s.hole_in(box)[ty0:ty1, tx0:tx1][hp_tight]
        return out

    # First the nearest frames that each show much of what no chosen frame shows yet (the gap between two cues,
    # the far side of a pan): neighbours whose masks differ only at the edges (a subtitle's per-frame strokes)
    # must not use up the sources before them.
    for s in window:
        uncovered = need == 0
        if len(chosen) >= cfg.sources or not uncovered.any():
            break
        shows = showing(s)
        if int((shows & uncovered).sum()) >= max(8, cfg.reveal * int(uncovered.sum())):
            chosen.append(s)
            need += shows
    # then, nearest first, frames that show hole pixels still short of candidates
    for s in window:
        if len(chosen) >= cfg.sources:
            break
        if s in chosen:
            continue
        shows = showing(s)
        gain = int((shows & (need < cfg.per_pixel)).sum())
        if gain >= max(8, 0.01 * len(need)):
            chosen.append(s)
            need += shows
    # Motion moves what each source shows; a few frames at spread-out offsets add candidates, more of them
    # where many pixels are hidden in place in every frame (a static mark: only motion reveals what is under).
    short = float(np.mean(need < cfg.per_pixel)) if len(need) else 0.0
    limit = min(cfg.sources, len(chosen) + (cfg.spread if short > 0.05 else cfg.spread // 2))
    if len(chosen) < limit:
        by_index = {s.index: s for s in window}
        for d in cfg.offsets:
            for j in (slot.index - d, slot.index + d):
                s = by_index.get(j)
                if s is not None and s not in chosen and len(chosen) < limit:
                    chosen.append(s)
    chosen.sort(key=lambda s: (abs(s.index - slot.index), s.index < slot.index))
    return chosen


def _fill_region(
    slot: _Slot, box: Box, buf: tuple[_Slot, ...], flows: _Flows, prev: tuple[np.ndarray, np.ndarray] | None,
    inpainter: Inpainter, cfg: RemovalSettings, counts: list[int],
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The region's filled crop and its *age*: per pixel, how many frames ago what it shows was seen (0: seen
    now or in a source frame; n < :data:`PAINTED`: carried n frames from the previous output; :data:`SPATIAL`:
    painted now; between: painted earlier and carried)."""
    cur = slot.crop(box)
    assert cur is not None
    hole = slot.hole_in(box)
    out = cur.copy()
    age = np.zeros(hole.shape, np.uint8)
    if not hole.any():
        return out, age
    counts[1] += int(hole.sum())
    ring = _ring(hole, 4)
    # Only the hole and its ring are read from a warped source: warp just their bounding window (``part``, in
    # crop coordinates) and address its pixels by flat index, the hole's and the ring's in row-major order.
    part = _tight(hole | ring)
    assert part is not None
    py0, py1, px0, px1 = part
    hole_at = np.flatnonzero(hole[py0:py1, px0:px1])  # (n,) into the window
    ring_at = np.flatnonzero(ring[py0:py1, px0:px1])  # (r,)
    cur_ring = cur[py0:py1, px0:px1].reshape(-1, 3)[ring_at].astype(np.float32)  # (r, 3)
    values: list[np.ndarray] = []
    valids: list[np.ndarray] = []
    prev_flow: np.ndarray | None = None
    for src in _choose_sources(slot, box, hole, buf, cfg):
        f = flows.maps(slot.index, src.index, box, part)
        rgba = src.rgba(box)
        if f is None or rgba is None:
            continue
        if src.index == slot.index - 1:
            prev_flow = f
        # colour and hole warped together (a sample mostly from hole pixels is a hole pixel)
        both = _warp(rgba, f).reshape(-1, 4)  # (window pixels, 4)
        at_hole = both[hole_at]  # (n, 4)
        take = at_hole[:, 3] <= 127
        if not take.any():
            continue
        at_ring = both[ring_at]  # (r, 4)
        vr = at_ring[:, 3] <= 127
        if vr.sum() < 0.3 * len(ring_at):
            continue
        diff = cur_ring[vr] - at_ring[vr, :3]
        if float(np.mean(np.abs(diff))) > cfg.tolerance:
            continue  # flow failed or a cut: this source does not line up
        shift = np.median(diff, axis=0)
        values.append(at_hole[:, :3].astype(np.float32) + shift)
        valids.append(take)
    missing = hole.copy()
    if values:
        med, got = _median_first(np.stack(values), np.stack(valids), cfg.per_pixel)
        idx = np.flatnonzero(hole.ravel())[got]
        out.reshape(-1, 3)[idx] = np.clip(med[got] + 0.5, 0, 255).astype(np.uint8)
        missing.ravel()[idx] = False
        counts[2] += int(got.sum())
    if missing.any() and prev is not None and slot.index > 0 and cfg.carry > 0:
        pcrop = prev[0][box[0] : box[1], box[2] : box[3]]
        if prev_flow is None:
            prev_flow = flows.maps(slot.index, slot.index - 1, box, part)
        if prev_flow is not None:
            warped = _warp(pcrop, prev_flow).reshape(-1, 3)  # (window pixels, 3)
            diff = cur_ring - warped[ring_at]
            if len(ring_at) and float(np.mean(np.abs(diff))) <= cfg.tolerance * 0.6:
                # What a frame showed is carried as it is; what was painted is blended with a fresh spatial
                # fill: stable, yet it follows slow changes (under a static mark on a still shot).
                shift = np.median(diff, axis=0)
                at_missing = np.flatnonzero(missing[py0:py1, px0:px1])
                prop = np.clip(warped[at_missing].astype(np.float32) + shift, 0, 255)
                page = cv2.remap(prev[1][box[0] : box[1], box[2] : box[3]], prev_flow, None, cv2.INTER_NEAREST,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=SPATIAL)  # fmt: skip
                page = page.ravel()[at_missing].astype(np.int16)  # the carried pixels' ages a frame ago
                seen = page < PAINTED
                # only where the mask moves (some frame of the window shows the pixel in place): under a mark
                # that stays put, "seen" pixels came in through the flow and go stale on a still shot
                keep = seen & ~_hidden_in_place(buf, slot, box, missing) if seen.any() else seen
                if not keep.all():
                    spatial = inpainter.fill(out, missing)[missing]
                    w = np.where(keep, 1.0, cfg.carry).astype(np.float32)[:, None]
                    prop = w * prop + (1 - w) * spatial
                out[missing] = (prop + 0.5).astype(np.uint8)
                age[missing] = np.where(seen, np.minimum(page + 1, PAINTED - 1), np.minimum(page + 1, SPATIAL - 1))
                counts[3] += int(missing.sum())
                missing[:] = False
    if missing.any():
        out = inpainter.fill(out, missing)
        age[missing] = SPATIAL
        counts[4] += int(missing.sum())
    return _feather(out, hole), age
