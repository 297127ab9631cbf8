"""Find what to remove: static and moving marks (with their blend alpha) and burned-in subtitles.

Static marks are found by *persistence*: over many frames the mean signed gradient of a background that
changes averages out, while the edges of an overlay stay put. A persistent-edge blob counts as a mark where
its edges never move (scene edges near motion jitter) and it damps the variation of the picture around it (an
overlay hides or scales the background by ``1−α``; a moving subject varies more inside than around); that
damping also draws its exact boundary. Over a static picture persistence says nothing: only a frozen blob (far
below the ring's sensor noise) with still edges near a frame edge counts — an opaque badge; a see-through one
there is not found.

A constant overlay composites as ``I = α·W + (1−α)·B``, one ``α`` per pixel for all three channels. Next to
the mark's border the background under it matches the background just outside: comparing the two over many
frames gives ``1−α`` (shared by the channels) and ``α·W`` there, and the temporal median of the gradient
carries ``α·W`` inside (:func:`estimate_blend`).

Subtitles are found per frame: bright (white/yellow) thin strokes (white top-hat) next to a dark outline or
shadow, grouped into wide line bands in the lower part of the frame, then segmented in time at cue changes and
stabilised by a vote inside each cue so the mask does not flicker.
"""

from __future__ import annotations

import math
import zlib
from collections import deque
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from tasks.cleanup.errors import CleanupError
from tasks.cleanup.video_io import SourceVideo, iter_frames, open_source

# ---------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class MarkEstimate:
    """A static mark: its mask, and where it is see-through, the blend to invert.

    ``slope`` (H, W, 3) is ``1−α`` and ``offset`` (H, W, 3) is ``α·W`` in 0..255 units, both full-frame.
    ``opaque`` marks pixels where inversion is unsafe (α ≥ ``max_alpha`` or a poor fit): those get filled instead.
    """

    mask: np.ndarray  # (H, W) bool
    slope: np.ndarray  # (H, W, 3) float32
    offset: np.ndarray  # (H, W, 3) float32
    opaque: np.ndarray  # (H, W) bool
    confidence: float
    boxes: tuple[tuple[int, int, int, int], ...]


@dataclass(frozen=True, slots=True)
class SubtitleTrack:
    """Per-frame subtitle masks (packed bits, full frame) and the cue segments ``(first, last)`` frame indices."""

    height: int
    width: int
    packed: tuple[bytes | None, ...]
    cues: tuple[tuple[int, int], ...]
    confidence: tuple[float, ...] = field(default=())

    def mask(self, index: int) -> np.ndarray | None:
        if index >= len(self.packed) or self.packed[index] is None:
            return None
        bits = np.unpackbits(np.frombuffer(self.packed[index], np.uint8), count=self.height * self.width)
        return bits.reshape(self.height, self.width).astype(bool)


@dataclass(frozen=True, slots=True)
class Detection:
    static: MarkEstimate | None
    moving: tuple[tuple[int, int, np.ndarray], ...]  # (first, last, mask) per segment where a mark jumped
    subtitles: SubtitleTrack | None

    def summary(self) -> dict:
        out: dict = {"static": None, "moving": [], "subtitles": None}
        if self.static is not None:
            m = self.static
            out["static"] = {
                "boxes": [list(b) for b in m.boxes], "area_fraction": round(float(m.mask.mean()), 5),
                "opaque_fraction": round(float(m.opaque[m.mask].mean()) if m.mask.any() else 0.0, 4),
                "mean_alpha": round(float(1 - m.slope[m.mask & ~m.opaque].mean()) if (m.mask & ~m.opaque).any() else 1.0, 4),
                "confidence": round(m.confidence, 3),
            }  # fmt: skip
        for first, last, mask in self.moving:
            out["moving"].append({"frames": [first, last], "box": list(_box(mask))})
        if self.subtitles is not None:
            t = self.subtitles
            out["subtitles"] = {
                "cues": [list(c) for c in t.cues],
                "frames_with_text": sum(p is not None for p in t.packed),
            }
        return out


def _box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return (0, 0, 0, 0)
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


# ---------------------------------------------------------------------------------------------- static marks


class _Persistence:
    """Running sums of signed colour gradients (per channel), their magnitude, and luma and its square.

    Colour channels are kept apart so a mark that differs from the picture in hue but not in brightness
    (a red logo over magenta) still shows persistent edges. The sums are OpenCV accumulations in place (no
    temporaries: a 720p frame costs ~15 ms instead of ~45); luma is summed in float64 so the temporal variance
    ``E[y²] − E[y]²`` keeps its sensor-noise digits.
    """

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = shape
        self.n = 0
        self.gx = np.zeros(shape + (3,), np.float32)
        self.gy = np.zeros(shape + (3,), np.float32)
        self.mag = np.zeros(shape + (3,), np.float32)
        self.luma = np.zeros(shape, np.float64)
        self.luma2 = np.zeros(shape, np.float64)

    def add(self, frame: np.ndarray) -> None:
        h, w = self.shape
        gx = cv2.Sobel(frame, cv2.CV_32F, 1, 0, ksize=3, scale=0.25)  # (H, W, 3)
        gy = cv2.Sobel(frame, cv2.CV_32F, 0, 1, ksize=3, scale=0.25)
        self.n += 1
        cv2.accumulate(gx, self.gx)
        cv2.accumulate(gy, self.gy)
        cv2.accumulate(cv2.magnitude(gx.reshape(h, -1), gy.reshape(h, -1)).reshape(h, w, 3), self.mag)
        gray = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        cv2.accumulate(gray, self.luma)
        cv2.accumulateSquare(gray, self.luma2)

    def maps(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(coherent gradient, mean gradient magnitude) of the most coherent channel, and temporal std."""
        n = max(self.n, 1)
        coherent = np.sqrt(self.gx**2 + self.gy**2) / n
        best = np.argmax(coherent, axis=2)[..., None]
        c = np.take_along_axis(coherent, best, axis=2)[..., 0]
        m = np.take_along_axis(self.mag / n, best, axis=2)[..., 0]
        var = np.maximum(self.luma2 - self.luma * self.luma / n, 0.0) / max(self.n - 1, 1)
        return c, m, np.sqrt(var).astype(np.float32)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    h, w = m.shape
    flood = np.pad(m, 1).copy()
    cv2.floodFill(flood, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 1)
    holes = flood[1:-1, 1:-1] == 0
    return mask | holes


@dataclass(frozen=True, slots=True)
class _Candidate:
    """One persistent-edge blob and what tells a mark from scene content.

    ``ring_std``/``ring_low``: median / 20th percentile temporal std just outside (does the picture change);
    ``inside_std``: median temporal std inside (an overlay hides or scales the background's variation);
    ``coherence``: median |mean gradient| / mean |gradient| on its edges (1.0 = the edge never moves: an
    overlay; a scene edge under a shaking camera or a moving subject jitters below ~0.9);
    ``edge_frac``: persistent-edge pixels on or next to the blob per blob pixel;
    ``border``: distance of the blob to the nearest frame edge per short side (marks sit near edges).
    """

    box: tuple[int, int, int, int]
    comp: np.ndarray  # (bh, bw) bool inside ``box``
    ring_std: float
    ring_low: float
    inside_std: float
    coherence: float
    edge_frac: float
    edge_strength: float
    border: float


def _damped_region(
    std: np.ndarray, blob: np.ndarray, limit: float, k: int, min_share: float
) -> np.ndarray | None:
    """The part of ``blob``'s neighbourhood whose temporal std is at most ``limit``, connected to the blob.

    ``None`` when under ``min_share`` of the blob is damped (not an overlay by this cue: the blob is kept as
    it is and scored on its own). Growth is bounded to ~k pixels past the blob.
    """
    low = std <= limit
    core = blob & low
    if core.sum() < min_share * blob.sum():
        return None
    ell = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    low = cv2.morphologyEx(low.astype(np.uint8), cv2.MORPH_CLOSE, ell).astype(bool)
    n, labels = cv2.connectedComponents(low.astype(np.uint8))
    ids = np.unique(labels[core & low])
    region = np.isin(labels, ids[ids > 0])
    reach = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    region &= cv2.dilate(blob.astype(np.uint8), reach).astype(bool)
    region = cv2.morphologyEx(region.astype(np.uint8), cv2.MORPH_OPEN, ell).astype(bool)
    return _fill_holes(region)


def _candidates(
    stats: _Persistence, min_area: int, strength: float = 14.0, coherence: float = 0.85
) -> list[_Candidate]:
    """Blobs enclosed by persistent edges (holes filled, broken badge outlines closed by their hull)."""
    coherent, mag, std = stats.maps()
    h, w = coherent.shape
    ratio = coherent / np.maximum(mag, 1e-6)
    edges = (coherent > strength) & (ratio > coherence)
    # Long straight edges (letterbox and pillarbox bars, window frames of a static shot) are scene, not marks,
    # and would otherwise join a nearby mark into one blob too big to keep.
    lines = cv2.morphologyEx(edges.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, int(0.4 * w)), np.uint8))
    lines |= cv2.morphologyEx(edges.astype(np.uint8), cv2.MORPH_OPEN, np.ones((int(0.4 * h), 1), np.uint8))
    edges &= ~cv2.dilate(lines, np.ones((3, 3), np.uint8)).astype(bool)
    k = max(3, int(round(min(h, w) / 120)) | 1)
    closed = cv2.morphologyEx(
        edges.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    region = _fill_holes(closed.astype(bool))
    n, labels, cc, _ = cv2.connectedComponentsWithStats(region.astype(np.uint8), connectivity=8)
    ring_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    std_s = cv2.medianBlur(std.astype(np.float32), 3)
    out: list[_Candidate] = []
    for i in range(1, n):
        x, y, bw, bh, area = cc[i]
        if area < min_area or bw * bh > 0.25 * h * w:
            continue
        comp = labels[y : y + bh, x : x + bw] == i
        # A badge whose outline is broken in places: its convex hull is the mark (interior included).
        pts = cv2.findNonZero(comp.astype(np.uint8))
        hull_pts = cv2.convexHull(pts)
        hull = np.zeros(comp.shape, np.uint8)
        cv2.fillConvexPoly(hull, hull_pts, 1)
        outline = np.zeros(comp.shape, np.uint8)
        cv2.polylines(outline, [hull_pts], True, 1, thickness=3)
        near = cv2.dilate(comp.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        if comp.sum() >= 0.35 * hull.sum() or (near & outline.astype(bool)).sum() >= 0.7 * outline.sum():
            comp = comp | hull.astype(bool)
        y0, y1, x0, x1 = max(0, y - 3 * k), min(h, y + bh + 3 * k), max(0, x - 3 * k), min(w, x + bw + 3 * k)
        local = np.zeros((y1 - y0, x1 - x0), np.uint8)
        local[y - y0 : y - y0 + bh, x - x0 : x - x0 + bw] = comp
        ring = cv2.dilate(local, ring_k).astype(bool) & ~local.astype(bool)
        ring_vals = std[y0:y1, x0:x1][ring]
        ring_std = float(np.median(ring_vals)) if ring.any() else 0.0
        ring_low = float(np.percentile(ring_vals, 20)) if ring.any() else 0.0
        # Over a changing picture the outline says roughly where a mark is and how much it damps the picture's
        # variation says exactly where (a see-through mark with α ≥ 0.2 to ≤ 0.8 of its surroundings): scene
        # edges stuck to the outline vary, a badge's cap whose outline broke does not. (Over a static picture
        # there is only sensor noise to damp, too little to draw a boundary with.)
        damped = None
        if ring_low >= 9.0:
            damped = _damped_region(std_s[y0:y1, x0:x1], local.astype(bool), 0.8 * ring_std, k, min_share=0.3)
        if damped is None or damped.sum() < min_area:
            # the 3x3 gradient puts an outline one pixel outside the mark on both sides: the filled outline is
            # one pixel too wide all round (eroded in the padded window: eroding the tight box keeps its rim)
            damped = cv2.erode(local, np.ones((3, 3), np.uint8)).astype(bool)
            if not damped.any():
                continue
        ys, xs = np.nonzero(damped)
        y, x = y0 + int(ys.min()), x0 + int(xs.min())
        bh, bw = int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)
        comp = damped[y - y0 : y - y0 + bh, x - x0 : x - x0 + bw]
        near_comp = cv2.dilate(comp.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        on_edge = near_comp & edges[y : y + bh, x : x + bw]
        on_coh, on_ratio = coherent[y : y + bh, x : x + bw][on_edge], ratio[y : y + bh, x : x + bw][on_edge]
        out.append(
            _Candidate(
                box=(int(x), int(y), int(bw), int(bh)), comp=comp, ring_std=ring_std, ring_low=ring_low,
                inside_std=float(np.median(std[y : y + bh, x : x + bw][comp])),
                coherence=float(np.median(on_ratio)) if on_edge.any() else 0.0,
                edge_frac=float(on_edge.sum() / comp.sum()),
                edge_strength=float(np.median(on_coh)) if on_edge.any() else 0.0,
                border=min(x, y, w - x - bw, h - y - bh) / float(min(h, w)),
            )
        )  # fmt: skip
    return out


def _mark_confidence(c: _Candidate, frame_area: int) -> float:
    """How sure we are that ``c`` is an overlay (0 = scene content).

    Where the picture around the blob changes, an overlay's edges never move (coherence ≈ 1) and it hides
    (opaque) or scales by ``1−α`` (see-through) the background's variation, so it varies less than its ring;
    scene edges near motion jitter and a moving subject varies more inside than around.
    Where the picture around it is static, persistence says nothing: only a blob that is frozen far below the
    ring's sensor/compression noise, with edges that never move, near a frame edge (where channel bugs and
    generator marks sit) and small, counts — an opaque badge over a static shot.
    """
    if c.edge_frac < 0.04:
        return 0.0
    if c.ring_std >= 12.0 and c.ring_low >= 9.0:
        if c.coherence < 0.94 or c.inside_std > 0.8 * c.ring_std:
            return 0.0
        return min(1.0, c.ring_low / 15.0) * min(1.0, c.edge_strength / 25.0)
    if (
        c.coherence >= 0.99 and c.border <= 0.1 and c.edge_frac >= 0.1 and c.ring_std >= 1.0
        and c.inside_std <= 0.35 * c.ring_std and c.comp.sum() <= 0.05 * frame_area
    ):  # fmt: skip
        return 0.5 * min(1.0, c.edge_strength / 25.0)
    return 0.0


def _persistent_regions(
    stats: _Persistence, min_area: int, max_area: float = 0.2, strength: float = 14.0, coherence: float = 0.85
) -> tuple[np.ndarray, float, list]:
    """Mask of marks from persistence statistics; components must sit in a changing picture."""
    h, w = stats.shape
    keep = np.zeros((h, w), bool)
    confs: list[float] = []
    boxes: list[tuple[int, int, int, int]] = []
    found: list[tuple[float, np.ndarray, tuple[int, int, int, int]]] = []
    for c in _candidates(stats, min_area, strength, coherence):
        conf = _mark_confidence(c, h * w)
        if conf == 0.0:
            continue
        confs.append(conf)
        boxes.append(c.box)
        found.append((confs[-1], c.comp, c.box))
    # Marks are small: keep the most confident blobs up to ``max_area`` of the frame (a static scene is not a mark).
    budget = max_area * h * w
    for conf, comp, (x, y, bw, bh) in sorted(found, key=lambda f: -f[0]):
        if conf < 0.35 or comp.sum() > budget:
            continue
        budget -= comp.sum()
        keep[y : y + bh, x : x + bw] |= comp
    return keep, (max(confs) if confs else 0.0), boxes


def detect_static_marks(
    path: str | Path,
    *,
    src: SourceVideo | None = None,
    max_samples: int = 90,
    frames: tuple[int, int] | None = None,
) -> np.ndarray:
    """Full-frame bool mask of static overlays persistent over ``frames`` (default: the whole clip)."""
    src = src or open_source(path)
    first, last = frames or (0, src.frames - 1)
    step = max(1, (last - first + 1) // max_samples)
    stats = _Persistence((src.height, src.width))
    for i, frame in iter_frames(src.path, step=step):
        if i < first:
            continue
        if i > last:
            break
        stats.add(frame)
    return _static_mask(stats)


def _static_mask(stats: _Persistence) -> np.ndarray:
    h, w = stats.shape
    if stats.n < 8:
        return np.zeros((h, w), bool)
    return _persistent_regions(stats, min_area=max(24, h * w // 20000))[0]


class _Poisson:
    """Least-squares ``a`` on ``region`` whose forward differences match (gx, gy) on pairs inside the region.

    Pairs that cross the region's border are left out (there the median gradient is biased by the background).
    ``anchor`` (a per-pixel weight) holds ``a`` to a target where it is known; elsewhere a tiny pull towards 0
    fixes the gauge (one constant per connected piece). The normal equations (a graph Laplacian plus the
    anchor) are factorised once and solved exactly per channel (an iterative ``lsqr`` took minutes on two 720p
    badges and stopped short of convergence at its limit).
    """

    def __init__(self, region: np.ndarray, anchor: np.ndarray | None = None, pull: float = 1e-3) -> None:
        from scipy.sparse import coo_matrix, diags
        from scipy.sparse.linalg import splu

        self.region = region
        idx = -np.ones(region.shape, np.int64)
        n = int(region.sum())
        idx[region] = np.arange(n)
        self.pairs: list[tuple[int, int, np.ndarray, np.ndarray, np.ndarray]] = []
        rows, cols, vals = [], [], []
        r = 0
        for dy, dx in ((0, 1), (1, 0)):
            a = idx[: region.shape[0] - dy, : region.shape[1] - dx]
            b = idx[dy:, dx:]
            ok = (a >= 0) & (b >= 0)
            ia, ib = a[ok], b[ok]
            m = len(ia)
            self.pairs.append((dy, dx, ok, ia, ib))
            rows += [np.arange(r, r + m), np.arange(r, r + m)]
            cols += [ib, ia]
            vals += [np.ones(m), -np.ones(m)]
            r += m
        d = coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, n)).tocsr()
        self.d_t = d.T.tocsr()
        self.weight = np.full(n, pull * pull)
        if anchor is not None:
            self.weight = np.maximum(self.weight, anchor[region])
        self.lu = splu((d.T @ d + diags(self.weight)).tocsc())

    def solve(self, gx: np.ndarray, gy: np.ndarray, target: np.ndarray | None = None) -> np.ndarray:
        h, w = self.region.shape
        rhs = np.concatenate(
            [(gx if dx else gy)[: h - dy, : w - dx][ok].astype(np.float64) for dy, dx, ok, _, _ in self.pairs]
        )
        b = self.d_t @ rhs
        if target is not None:
            b = b + self.weight * target[self.region]
        out = np.zeros(self.region.shape, np.float64)
        out[self.region] = self.lu.solve(b)
        return out


_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def _outer_partners(
    m: np.ndarray, beyond: float = 1.5
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per pixel of ``m``: its distance to the outside, and ``(qy, qx, ok)``, the pixel ``beyond`` px past its
    nearest outside pixel along the same direction (1.5: clear of the anti-aliased rim and of chroma bleeding
    across it); ``ok`` where that partner is outside ``m``."""
    ch, cw = m.shape
    dist, labels = cv2.distanceTransformWithLabels(
        m.astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
    )
    outside = np.argwhere(~m)
    lab_of = np.zeros(labels.max() + 1, np.int64)
    zero_labels = labels[~m]
    lab_of[zero_labels] = np.arange(len(zero_labels))
    near = outside[lab_of[labels]]  # (h, w, 2) nearest outside pixel (row, col)
    ys, xs = np.mgrid[0:ch, 0:cw]
    vy, vx = near[..., 0] - ys, near[..., 1] - xs
    norm = np.maximum(np.hypot(vy, vx), 1e-6)
    qy = np.clip(np.round(near[..., 0] + beyond * vy / norm), 0, ch - 1).astype(int)
    qx = np.clip(np.round(near[..., 1] + beyond * vx / norm), 0, cw - 1).astype(int)
    return dist, qy, qx, ~m[qy, qx]


def _shared_slope(inside: np.ndarray, outside: np.ndarray) -> float:
    """``1−α``, one for all three channels, from (T, P, 3) pixels just inside a mark and partners outside.

    A mark is composited with one alpha, so every linear mix of the channels is scaled by the same ``1−α``:
    the ratio is taken on luma (the one full-resolution plane of 4:2:0 video; a channel that hardly varies
    carries little weight in it instead of giving its own ratio of noise to noise), as the median temporal
    std inside over the median outside (medians: robust to the few pixels an edge sweeps on one side only).
    """
    y = (inside @ _LUMA).std(axis=0)  # (P,)
    x = (outside @ _LUMA).std(axis=0)
    return float(np.clip(np.median(y) / max(float(np.median(x)), 1e-3), 0.0, 1.0))


def estimate_blend(
    path: str | Path, mask: np.ndarray, *, src: SourceVideo | None = None, max_samples: int = 120,
    max_alpha: float = 0.72, confidence: float = 1.0, grow: int = 1, anchor: float = 0.1,
    frames: Sequence[np.ndarray] | None = None,
) -> MarkEstimate:  # fmt: skip
    """Estimate ``α·W`` and ``1−α`` inside ``mask`` from many frames.

    A mark is composited with one alpha for its three channels (``I = α·W + (1−α)·B``, ``W`` an RGB colour).

    1. ``1−α`` of each piece, one for all channels: next to the mark's border the background under it matches
       the background just outside, so pairs (a pixel ``grow`` + 2.5–4.5 px inside, the pixel 1.5 px past its
       nearest outside one) give it as a ratio of temporal stds on luma (:func:`_shared_slope`). Fitted per
       channel it collapsed where a channel hardly varies (a mostly green fractal: α 0.006 / 0.42 / 0.0 for
       0.45). It is still a border statistic: where the background under the band varies differently from the
       one outside (that fractal: α 0.35) it is off.
    2. ``α·W``: ``∇(α·W)`` is the temporal median of the image gradient (background gradients vary and
       cancel), integrated by least squares inside the mask and held (weight ``anchor``) to its value on that
       band, the median over frames of ``I − (1−α)·B`` with ``B`` extrapolated from outside. One constant per
       channel fitted to the band left a drift of ±8 levels across a 120 px badge (small gradient biases
       integrated); the anchors tie it down all round.
    3. Pixels within 2.5 px of the border (anti-aliased edges, partial alpha) get their own ratio (on luma,
       at least the piece's) against their partner, and their offset from the means. The rim of an opaque
       piece is not inverted but filled with the piece.

    ``grow`` pixels are added round ``mask`` first, so anti-aliased edge pixels a mask (user-drawn or
    detected) cuts through are inverted too: the estimate's ``mask`` is the removal region, one pixel wider
    than the mark (bench carphone opaque badge: +1 dB PSNR after removal; IoU with alpha > 0 0.93 → 0.80).
    Bench tears_of_steel see-through badge (α 0.45) given its true mask: α 0.42 → 0.45, α·W ~8 → ~2 levels
    low; PSNR after removal 27.1 → 33.3 dB (31.3 with its detected mask; bench/results/cleanup.json).

    Marks far apart (a logo in each top corner) are estimated in their own crops. ``frames`` are sampled full
    frames the caller already holds (:func:`detect`'s single decode); without them every
    ``frames // max_samples``-th frame is decoded.
    """
    src = src or open_source(path)
    h, w = mask.shape
    if not mask.any():
        z = np.zeros((h, w, 3), np.float32)
        return MarkEstimate(mask, z + 1, z, mask.copy(), 0.0, ())
    crops = _mark_crops(mask, pad=6)
    if frames is None:
        step = max(1, src.frames // max_samples)
        frames = [f for _, f in iter_frames(src.path, step=step)]
    full_slope = np.ones((h, w, 3), np.float32)
    full_offset = np.zeros((h, w, 3), np.float32)
    full_opaque = np.zeros((h, w), bool)
    full_mask = np.zeros((h, w), bool)

    def one(crop: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        x0, y0, x1, y1 = crop
        m = mask[y0:y1, x0:x1].copy()
        if grow > 0:
            m = cv2.dilate(m.astype(np.uint8), np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)).astype(bool)
        stack = np.stack([f[y0:y1, x0:x1] for f in frames]).astype(np.float32)  # (T, h, w, 3): the crop only
        return m, *_blend_in_crop(stack, m, grow=grow, anchor=anchor, max_alpha=max_alpha)

    # crops are independent and NumPy's medians release the GIL: two marks take both cores (720p bench clip's
    # two logos: detection 2.8-3.0 → 2.5-2.6 s), unless their float stacks together would be large
    stacks = sum(len(frames) * (y1 - y0) * (x1 - x0) * 12 for x0, y0, x1, y1 in crops)
    if len(crops) > 1 and stacks <= 512 << 20:
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="blend") as pool:
            estimates = list(pool.map(one, crops))
    else:
        estimates = [one(c) for c in crops]
    for (x0, y0, x1, y1), (m, slope, offset, opaque) in zip(crops, estimates, strict=True):
        full_slope[y0:y1, x0:x1] = np.where(m[..., None], slope, 1.0)
        full_offset[y0:y1, x0:x1] = np.where(m[..., None], offset, 0.0)
        full_opaque[y0:y1, x0:x1] = opaque
        full_mask[y0:y1, x0:x1] = m
    n, _, cc, _ = cv2.connectedComponentsWithStats(full_mask.astype(np.uint8))
    boxes = tuple(tuple(int(v) for v in cc[i][:4]) for i in range(1, n))
    return MarkEstimate(full_mask, full_slope, full_offset, full_opaque, confidence, boxes)  # type: ignore[arg-type]


def _mark_crops(mask: np.ndarray, pad: int) -> list[tuple[int, int, int, int]]:
    """``(x0, y0, x1, y1)`` crops covering ``mask``'s pieces ``pad`` px round; pieces whose crops meet share
    one."""
    h, w = mask.shape
    n, _, cc, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    boxes = [
        [max(0, y - pad), min(h, y + bh + pad), max(0, x - pad), min(w, x + bw + pad)]
        for x, y, bw, bh, _ in cc[1:n]
    ]
    return [(int(x0), int(y0), int(x1), int(y1)) for y0, y1, x0, x1 in merge_overlapping(boxes)]


def merge_overlapping(boxes: list[list[int]]) -> list[list[int]]:
    """``[y0, y1, x0, x1]`` boxes (half-open), those that overlap merged into one (in place) until none do."""
    merged = True
    while merged:
        merged = False
        for a in range(len(boxes)):
            for b in range(a + 1, len(boxes)):
                p, q = boxes[a], boxes[b]
                if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]:
                    boxes[a] = [min(p[0], q[0]), max(p[1], q[1]), min(p[2], q[2]), max(p[3], q[3])]
                    del boxes[b]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _blend_in_crop(
    stack: np.ndarray, m: np.ndarray, *, grow: int, anchor: float, max_alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(1−α, α·W, opaque)`` inside ``m`` from a crop's frames ``stack`` (T, h, w, 3) float32 (see
    :func:`estimate_blend`)."""
    ch, cw = m.shape
    gx = np.median(np.diff(stack, axis=2), axis=0)  # (h, w-1, 3)
    gy = np.median(np.diff(stack, axis=1), axis=0)  # (h-1, w, 3)
    gx = np.pad(gx, ((0, 0), (0, 1), (0, 0)))
    gy = np.pad(gy, ((0, 1), (0, 0), (0, 0)))
    dist, qy, qx, q_ok = _outer_partners(m)
    edge = m & (dist <= 2.5)
    # the band starts past the grown margin: a grown mask's outer ``grow`` pixels are background, not mark
    core_band = m & (dist > 2.5 + grow) & (dist <= 4.5 + grow) & q_ok
    mean_t = stack.mean(axis=0)  # (h, w, 3)
    std_t = stack.std(axis=0) + 1e-3
    luma_std = (stack @ _LUMA).std(axis=0)  # (h, w)
    q_mean = mean_t[qy, qx]
    slope = np.ones((ch, cw, 3), np.float64)
    offset = np.zeros((ch, cw, 3), np.float64)
    piece_slope = np.ones((ch, cw))
    fitted = np.zeros((ch, cw), bool)  # pieces with a usable band
    anchored = np.zeros((ch, cw), bool)
    n_pieces, pieces = cv2.connectedComponents(m.astype(np.uint8))
    for piece in range(1, n_pieces):
        pm = pieces == piece
        band = core_band & pm
        if band.sum() < 8:
            band = m & pm & q_ok & (dist > 1.5)
        if band.sum() < 4:
            continue
        s0 = _shared_slope(stack[:, band], stack[:, qy[band], qx[band]])
        piece_slope[pm], fitted[pm], anchored[band] = s0, True, True
        slope[pm] = s0
        # anti-aliased edge pixels: their own ratio (their partial alpha) and offset
        e = pm & edge & q_ok
        s_e = np.clip(luma_std[e] / np.maximum(luma_std[qy[e], qx[e]], 1e-3), s0, 1.0)[:, None]
        slope[e] = s_e
        offset[e] = mean_t[e] - s_e * q_mean[e]
    # α·W on the band: the median over frames of I − (1−α)·B, B extrapolated linearly to the pixel from its
    # partner and a pixel 3 px further out (a scene brighter towards the frame edge made B just outside ~5
    # levels brighter than under the band on the bench's badge); the median keeps the frames where the
    # background is smooth there (the mean let an edge passing between them bias it)
    _, ry, rx, r_ok = _outer_partners(m, beyond=4.5)
    r_ok &= (ry != qy) | (rx != qx)  # not where the crop's edge (the frame's) stops it on the partner
    near_b = stack[:, qy[anchored], qx[anchored]]  # (T, P, 3)
    far_b = stack[:, ry[anchored], rx[anchored]]
    # pixel-to-partner over partner-to-far distance (0: no extrapolation)
    reach = np.where(r_ok, (dist + 2.0) / 3.0, 0.0)[anchored][None, :, None]
    background = near_b + reach * (near_b - far_b)
    target = np.zeros((ch, cw, 3))
    blend = stack[:, anchored] - piece_slope[anchored][None, :, None] * background  # (T, P, 3) α·W per frame
    target[anchored] = np.median(blend, axis=0)
    poisson = _Poisson(m, anchor=np.where(anchored, anchor, 0.0))
    inner = fitted & ~(edge & q_ok)
    for c in range(3):
        offset[inner, c] = poisson.solve(gx[..., c], gy[..., c], target[..., c])[inner]
    offset = np.clip(offset, 0.0, 255.0)
    # Pixels that hardly change while the picture around the mark does are opaque whatever the pooled ratio says
    # (a loose user box around an opaque logo has a border band that is mostly background).
    ring_std = float(np.median(std_t[~m])) if (~m).any() else 0.0
    frozen = std_t.max(axis=2) < 0.12 * ring_std
    # A pixel whose α is under 0.15 and under half its piece's is the grown margin or the faint anti-aliased
    # rim of a stronger mark: inverting it mostly adds α·W's error (over a static picture the median gradient
    # carries the background's own edges into α·W). Filled instead (bench, detected marks: carphone opaque
    # logo 27.5 → 31.3 dB, tears_of_steel opaque 23.0 → 23.8, see-through 31.3 → 31.5); a faint mark's pixels
    # (α 0.2 given its true mask: 34.6 dB inverted, 17.0 filled) stay inverted.
    alpha = 1.0 - slope.min(axis=2)
    faint = fitted & (alpha < np.minimum(0.15, 0.5 * (1.0 - piece_slope)))
    # The anti-aliased rim of an opaque piece is filled with it: its per-pixel ratio is noisy, and inverting it
    # left orange specks round the real captioned clip's emoji; bench carphone opaque logo 31.25 → 31.63 dB.
    rim_of_opaque = fitted & (piece_slope < 1.0 - max_alpha)
    opaque = ((slope < 1.0 - max_alpha).any(axis=2) | frozen | faint | rim_of_opaque) & m
    return slope, offset, opaque


def detect_moving_marks(
    src: SourceVideo, static_mask: np.ndarray, *, segment_seconds: float = 2.0, max_samples: int = 24
) -> tuple[tuple[int, int, np.ndarray], ...]:
    """Marks that stay put for a while then jump (AI-generator style): per-segment persistence.

    The clip is cut into segments of ``segment_seconds``; a mark found in a segment but not in the whole clip is
    a moving mark for that segment. Consecutive segments with the same mask are merged.
    """
    seg = max(16, int(round(float(src.fps) * segment_seconds)))
    if src.frames < 2 * seg:
        return ()
    h, w = src.height, src.width
    step = max(1, seg // max_samples)
    bounds = [(s, min(src.frames, s + seg) - 1) for s in range(0, src.frames, seg)]
    stats = [_Persistence((h, w)) for _ in bounds]
    for i, frame in iter_frames(src.path, step=step):
        stats[min(i // seg, len(bounds) - 1)].add(frame)
    grown = cv2.dilate(static_mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    found: list[tuple[int, int, np.ndarray]] = []
    for (first, last), st in zip(bounds, stats, strict=True):
        if st.n < 6:
            continue
        mask, _, _ = _persistent_regions(
            st, min_area=max(24, h * w // 20000), max_area=0.02, strength=20.0, coherence=0.92
        )
        mask &= ~grown
        if mask.sum() < max(24, h * w // 20000):
            continue
        if found and found[-1][1] == first - 1 and _iou(found[-1][2], mask) > 0.6:
            found[-1] = (found[-1][0], last, found[-1][2] | mask)
        else:
            found.append((first, last, mask))
    # Only marks that really moved: a segment mask repeated everywhere would have shown up as static.
    return tuple(f for f in found if (f[1] - f[0] + 1) < src.frames)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


# ------------------------------------------------------------------------------------------------- subtitles


def _text_lines(strokes: np.ndarray, lh: int, max_lines: int = 3) -> list[tuple[int, int, np.ndarray]]:
    """Split a blob of strokes into text lines by its row profile: ``(top, left, strokes)`` per line.

    Bright scene details next to a caption (a railing, a window) can join its blob and make it too tall to
    pass as a line; the caption's rows are the dense run around the profile's peak.
    """
    out: list[tuple[int, int, np.ndarray]] = []
    rest = strokes.copy()
    first_peak = 0
    for _ in range(max_lines):
        rows = rest.sum(axis=1)
        peak = int(rows.max()) if rows.size else 0
        if peak == 0 or peak < 0.4 * first_peak:
            break
        first_peak = max(first_peak, peak)
        on = rows >= 0.15 * peak
        top = bottom = int(np.argmax(rows))
        gap = max(1, lh // 2)
        while top > 0 and on[max(0, top - gap) : top].any():
            top -= 1
        while bottom < len(on) - 1 and on[bottom + 1 : bottom + 1 + gap].any():
            bottom += 1
        # The few columns of an ascender or descender ("W", "h", "g") are under the row threshold: a quarter
        # of the line's height above and below is taken where its strokes join the line's own.
        ext = max(1, (bottom - top + 1) // 4)
        e0, e1 = max(0, top - ext), min(len(on), bottom + 1 + ext)
        n, labels, cc, _ = cv2.connectedComponentsWithStats(rest[e0:e1].astype(np.uint8), connectivity=8)
        joined = np.zeros(n, bool)
        joined[np.unique(labels[top - e0 : bottom + 1 - e0])] = True
        joined[0] = False
        joined &= cc[:, 2] <= 1.5 * (bottom - top + 1)  # a glyph's width, not a scene edge along the line
        taken = joined[labels]
        band = taken.copy()
        band[top - e0 : bottom + 1 - e0] = rest[top : bottom + 1]
        rows_on = np.nonzero(band.any(axis=1))[0]
        band = band[rows_on[0] : rows_on[-1] + 1]
        cols = np.nonzero(band.any(axis=0))[0]
        out.append((e0 + int(rows_on[0]), int(cols[0]), band[:, cols[0] : cols[-1] + 1].copy()))
        rest[top : bottom + 1] = False
        rest[e0:e1][taken] = False
    return out


_DARK = 90  # grey level under which a pixel can be a caption's outline or shadow


def subtitle_candidates(
    frame: np.ndarray, *, band: tuple[float, float] = (0.45, 1.0)
) -> tuple[np.ndarray, float]:
    """Text-stroke mask of one RGB frame within the vertical ``band`` (fractions of the height) and a confidence."""
    h, w = frame.shape[:2]
    y0, y1 = int(band[0] * h), int(band[1] * h)
    roi = frame[y0:y1]
    hsv = cv2.cvtColor(roi, cv2.COLOR_RGB2HSV)
    v = hsv[..., 2]
    gray = cv2.cvtColor(roi, cv2.COLOR_RGB2GRAY)
    stroke = max(3, int(round(h / 45)))
    tophat = cv2.morphologyEx(
        gray, cv2.MORPH_TOPHAT, cv2.getStructuringElement(cv2.MORPH_RECT, (stroke * 2 + 1, stroke * 2 + 1))
    )
    white = (v > 175) & (hsv[..., 1] < 70)
    yellow = (hsv[..., 0] >= 18) & (hsv[..., 0] <= 38) & (hsv[..., 1] > 90) & (v > 150)
    bright = (white | yellow) & (tophat > 40)
    dark = (gray < _DARK).astype(np.uint8)
    near_dark = cv2.dilate(dark, np.ones((5, 5), np.uint8)).astype(bool)
    strokes = bright & near_dark
    full = np.zeros((h, w), bool)
    if strokes.sum() < 20:
        return full, 0.0
    lh = max(3, int(round(h / 60)))
    line = cv2.morphologyEx(
        strokes.astype(np.uint8), cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (lh * 3, lh))
    )
    n, labels, cc, _ = cv2.connectedComponentsWithStats(line, connectivity=8)
    keep = np.zeros_like(strokes)
    conf = 0.0
    for i in range(1, n):
        x, y, bw, bh, area = cc[i]
        if bw < w * 0.05:
            continue
        comp_strokes = strokes[y : y + bh, x : x + bw] & (labels[y : y + bh, x : x + bw] == i)
        for ly, lx, s in _text_lines(comp_strokes, lh):
            sh, sw = s.shape
            if not (h * 0.012 <= sh <= h * 0.2) or sw < 1.5 * sh or sw < w * 0.05:
                continue
            density = s.sum() / float(sh * sw)
            if not 0.06 <= density <= 0.65:
                continue
            pieces = cv2.connectedComponents(s.astype(np.uint8))[0] - 1
            if pieces < 2:
                continue
            # Burned-in text is outlined (or shadowed): most of the pixels just around its strokes are dark.
            # Bright scene detail next to a dark patch has dark on one side only (measured on tears_of_steel:
            # caption lines 0.50-0.57, scene lines ≤ 0.2).
            ty, tx = y + ly, x + lx
            py0, px0 = max(0, ty - 1), max(0, tx - 1)
            win = np.zeros((min(gray.shape[0], ty + sh + 1) - py0, min(w, tx + sw + 1) - px0), np.uint8)
            win[ty - py0 : ty - py0 + sh, tx - px0 : tx - px0 + sw] = s
            ring = cv2.dilate(win, np.ones((3, 3), np.uint8)).astype(bool) & ~win.astype(bool)
            if (gray[py0 : py0 + win.shape[0], px0 : px0 + win.shape[1]][ring] < _DARK).mean() < 0.3:
                continue
            keep[ty : ty + sh, tx : tx + sw] |= s
            conf = max(conf, min(1.0, pieces / 6.0) * min(1.0, density / 0.15))
    if keep.any():
        # The dots of i and j, diacritics (é, ñ, ä, й, ё) and loose parts of CJK glyphs sit apart from their
        # letters, further than the line's closing reaches: stroke pieces at most 2·lh a side within lh above or
        # below a kept line's strokes are text too. Bench: the i-dots of tears_of_steel's Latin cue were left,
        # bright, in every frame (missed true pixels 1.3 % → 0.08 %); PSNR tears Latin 21.44 → 22.04 dB, CJK
        # 20.62 → 21.80, carphone (176x144, where 2·lh is 6 px) Latin 23.54 → 23.53, CJK 22.45 → 22.25. Pieces
        # of ≤ lh, or within lh/2, gained less (tears Latin 22.12 / 21.63, CJK 20.71 / 20.67).
        pieces_n, pieces, box, _ = cv2.connectedComponentsWithStats((strokes & ~keep).astype(np.uint8))
        small = (box[:, 2] <= 2 * lh) & (box[:, 3] <= 2 * lh)
        small[0] = False
        near = cv2.dilate(keep.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_RECT, (3, 2 * lh + 1)))
        touching = np.zeros(pieces_n, bool)
        touching[np.unique(pieces[near.astype(bool)])] = True
        keep |= (small & touching)[pieces]
    full[y0:y1] = keep
    return full, conf


MIN_CUE_SECONDS = 0.4  # a shorter run of frames is no cue of its own (only a sliver of the one before)


def detect_subtitles(
    src: SourceVideo,
    *,
    band: tuple[float, float] = (0.45, 1.0),
    min_cue_seconds: float = MIN_CUE_SECONDS,
    whole_band: bool = False,
) -> SubtitleTrack:
    """Per-frame subtitle masks, segmented at cue changes and voted inside each cue (no flicker).

    ``whole_band`` removes each line's whole bounding band instead of the strokes and their outline.
    """
    scan = _SubtitleScan(src, band=band)
    for _, frame in iter_frames(src.path):
        scan.add(frame)
    return _subtitle_track(scan, min_cue_seconds=min_cue_seconds, whole_band=whole_band)


class _SubtitleScan:
    """Per-frame text-stroke candidates (packed, at most ~960 px on the long side), fed one frame at a time;
    :func:`_subtitle_track` turns them into cues and stable per-frame masks."""

    def __init__(self, src: SourceVideo, *, band: tuple[float, float]) -> None:
        self.src, self.band = src, band
        self.small = max(1, int(np.ceil(max(src.height, src.width) / 960)))
        self.hs, self.ws = src.height // self.small, src.width // self.small
        self.raw: list[np.ndarray] = []
        self.halos: list[bytes] = []  # per frame: the dark pixels round its strokes (packed, zlib), or b""
        self.confs: list[float] = []
        r = 2 * _outline(self.hs)
        self.near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))

    def add(self, frame: np.ndarray) -> None:
        f = cv2.resize(frame, (self.ws, self.hs), interpolation=cv2.INTER_AREA) if self.small > 1 else frame
        m, c = subtitle_candidates(f, band=self.band)
        self.raw.append(np.packbits(m))
        halo = b""
        rows = np.flatnonzero(m.any(axis=1))
        if len(rows):  # only the rows within reach of the strokes are looked at
            r = self.near.shape[0] // 2
            a, b = max(0, rows[0] - r), min(self.hs, rows[-1] + r + 1)
            near = np.zeros_like(m)
            near[a:b] = (cv2.cvtColor(f[a:b], cv2.COLOR_RGB2GRAY) < _DARK) & cv2.dilate(
                m[a:b].astype(np.uint8), self.near
            ).astype(bool)
            halo = zlib.compress(np.packbits(near), 1)
        self.halos.append(halo)
        self.confs.append(c)


def _outline(hs: int) -> int:
    """Reach of a removal mask beyond the bright strokes, at a frame height of ``hs``: the dark outline (≥ 2
    px at this scale) and one pixel of anti-aliasing and compression ringing round it (bench clips: IoU 0.91
    → 0.92 Latin, 0.87 → 0.93 CJK on carphone; one more pixel loses again)."""
    return max(2, int(round(hs / 150))) + 1


def _subtitle_track(scan: _SubtitleScan, *, min_cue_seconds: float, whole_band: bool) -> SubtitleTrack:
    src, raw, confs, small, hs, ws = scan.src, scan.raw, scan.confs, scan.small, scan.hs, scan.ws
    h, w = src.height, src.width
    outline = _outline(hs)
    count = len(raw)

    def unpack(i: int) -> np.ndarray:
        return np.unpackbits(raw[i], count=hs * ws).reshape(hs, ws).astype(bool)

    one = np.ones((3, 3), np.uint8)

    def reach(i: int, part: np.ndarray) -> np.ndarray:
        """``part`` grown over the dark outline round it (as far as ``outline``) and one pixel further, not over
        the picture where it is brighter (bench, given this detection: tears_of_steel Latin 20.4 → 21.1 dB,
        CJK 19.2 → 19.5, carphone Latin 22.9 → 23.5); the whole reach where frame ``i``'s own strokes were
        not found (its voted text only) and for ``whole_band``."""
        full = cv2.dilate(part.astype(np.uint8), grow)
        if scan.halos[i] and not whole_band:
            halo = np.unpackbits(np.frombuffer(zlib.decompress(scan.halos[i]), np.uint8), count=hs * ws)
            full &= cv2.dilate((halo.reshape(hs, ws) | part).astype(np.uint8), one)
        return full

    # Cue boundaries: text appears/disappears, or most of this frame's text lies outside the text of the last
    # few frames (containment, not frame-to-frame IoU: partial detections over busy backgrounds must not split
    # a cue; a short window, not the whole cue so far, whose union would end up covering any next line).
    cues: list[tuple[int, int]] = []
    start = 0
    k = np.ones((5, 5), np.uint8)
    recent: list[np.ndarray] = [cv2.dilate(unpack(0).astype(np.uint8), k).astype(bool)] if count else []
    for i in range(1, count + 1):
        cur = unpack(i) if i < count else None
        boundary = cur is None
        if not boundary:
            acc = np.logical_or.reduce(recent)
            if acc.any() != cur.any():
                boundary = True
            elif cur.any():
                boundary = (cur & acc).sum() < 0.5 * cur.sum()
        if boundary:
            cues.append((start, i - 1))
            start = i
            recent = []
        if cur is not None:
            recent = [*recent[-2:], cv2.dilate(cur.astype(np.uint8), k).astype(bool)]
    min_len = max(2, int(round(float(src.fps) * min_cue_seconds)))
    packed: list[bytes | None] = [None] * count
    kept: list[tuple[int, int]] = []
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * outline + 1, 2 * outline + 1))
    near_k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (4 * outline + 1, 4 * outline + 1))
    near_text = np.zeros((hs, ws), bool)  # around the last kept cue's voted text
    for first, last in cues:
        masks = [unpack(i) for i in range(first, last + 1)]
        vote = np.mean(masks, axis=0)
        sliver = False
        if vote.max() == 0 or (last - first + 1) < min_len:
            # Too short to be a cue unless it is a sliver of a neighbour cue with text: keep the raw strokes
            # near that cue's text then (text flickering over a busy background is not a new cue every frame;
            # specks of a noisy background elsewhere in a gap between cues are not text).
            if vote.max() == 0 or (last - first + 1) >= min_len or not kept or kept[-1][1] != first - 1:
                continue
            sliver = True
        stable = vote >= 0.5
        if not sliver:
            near_text = cv2.dilate(stable.astype(np.uint8), near_k).astype(bool)
        if whole_band:
            band_mask = np.zeros_like(stable)
            n, labels, cc, _ = cv2.connectedComponentsWithStats(
                cv2.morphologyEx(
                    stable.astype(np.uint8),
                    cv2.MORPH_CLOSE,
                    np.ones((outline * 4 + 1, outline * 12 + 1), np.uint8),
                )
            )
            for j in range(1, n):
                x, y, bw, bh, _ = cc[j]
                band_mask[
                    max(0, y - 2 * outline) : y + bh + 2 * outline,
                    max(0, x - 2 * outline) : x + bw + 2 * outline,
                ] = True
            stable = band_mask
        for i, m in zip(range(first, last + 1), masks, strict=True):
            # the cue's voted text, plus this frame's strokes next to it (not specks elsewhere in the band)
            part = (m & near_text) if sliver else (stable | (m & near_text))
            if not part.any():
                continue
            full = reach(i, part)
            if small > 1:
                full = cv2.resize(full, (w, h), interpolation=cv2.INTER_NEAREST)
            packed[i] = np.packbits(full.astype(bool)).tobytes()
        if sliver:
            kept[-1] = (kept[-1][0], last)
        else:
            kept.append((first, last))
    return SubtitleTrack(h, w, tuple(packed), tuple(kept), tuple(confs))


# --------------------------------------------------------------------------------------------------- overall


# frames of the clip :func:`detect` holds for the blend estimate instead of decoding the clip again
KEEP_BYTES = 768 << 20
# frames spread over the clip that feed the persistence statistics (about; all of a shorter clip): 60 gave the
# bench's masks and scores of 90 (within 0.01 dB) with a third to a half less gradient work per clip
STATS_FRAMES = 60


def detect(
    path: str | Path, *, watermark: str | np.ndarray | None = "auto", subtitles: str | None = "auto",
    moving: bool = False, band: tuple[float, float] | None = None,
) -> Detection:  # fmt: skip
    """Everything to remove from ``path``: :func:`detect_keeping_frames` without the frames."""
    return detect_keeping_frames(path, watermark=watermark, subtitles=subtitles, moving=moving, band=band)[0]


def detect_keeping_frames(
    path: str | Path, *, watermark: str | np.ndarray | None = "auto", subtitles: str | None = "auto",
    moving: bool = False, band: tuple[float, float] | None = None,
) -> tuple[Detection, list[np.ndarray] | None]:  # fmt: skip
    """Everything to remove from ``path``, in one decode of the clip (plus one more for ``moving``).

    ``watermark`` is ``"auto"`` (detect), ``None``/``"none"`` (skip) or a user mask (bool array, full frame);
    ``subtitles`` is ``"auto"`` (text strokes), ``"band"`` (whole line bands) or ``None``/``"none"``; ``band``
    is the vertical range searched for subtitles (fractions of the height): by default the lower 55 % of a
    landscape frame, and everything below the top 10 % of a portrait one (social captions sit mid-frame).
    Every frame feeds the subtitle scan, every ``frames // STATS_FRAMES``-th the persistence statistics, and every
    ``frames // 120``-th (fewer where they would pass :data:`KEEP_BYTES`) is held for the blend estimate.
    Returns the detection and, where every frame was held (a clip under 240 frames that fits in
    :data:`KEEP_BYTES`, ~8-10 s), the decoded frames, so the removal need not decode them again; else ``None``.
    """
    src = open_source(path)
    if band is None:
        band = (0.1, 1.0) if src.height > src.width else (0.45, 1.0)
    user_mask = None
    if isinstance(watermark, np.ndarray):
        if watermark.shape != (src.height, src.width):
            raise CleanupError(
                f"the watermark mask is {watermark.shape[1]}x{watermark.shape[0]} but the video is {src.width}x{src.height}",
                file=path, field="watermark", hint="pass a mask PNG of the video's size, or X,Y,W,H inside the frame",
            )  # fmt: skip
        user_mask = watermark.astype(bool)
    elif watermark not in ("auto", None, "none"):
        raise CleanupError(
            f"unknown watermark mode {watermark!r}",
            field="watermark",
            hint="use auto, none, X,Y,W,H or a mask PNG",
        )
    if subtitles not in ("auto", "band", None, "none"):
        raise CleanupError(
            f"unknown subtitles mode {subtitles!r}", field="subtitles", hint="use auto, band or none"
        )
    find_marks = isinstance(watermark, str) and watermark == "auto"
    stats = _Persistence((src.height, src.width)) if find_marks else None
    scan = _SubtitleScan(src, band=band) if subtitles in ("auto", "band") else None
    held: list[np.ndarray] | None = [] if (find_marks or user_mask is not None) else None
    stats_step = max(1, src.frames // STATS_FRAMES)
    held_step = max(1, src.frames // 120, -(-src.frames * src.height * src.width * 3 // KEEP_BYTES))
    step = 1 if scan is not None else math.gcd(stats_step, held_step) if stats is not None else held_step
    if scan is not None or held is not None:  # (held is there whenever stats are)
        # the subtitle scan and the persistence sums each run in a thread of their own, frames in order (OpenCV
        # and NumPy release the GIL), while the main one decodes (720p bench clip: detection 2.5-2.6 → 2.2 s)
        with (ThreadPoolExecutor(max_workers=1, thread_name_prefix="subtitle-scan") as pool,
              ThreadPoolExecutor(max_workers=1, thread_name_prefix="persistence") as sums):  # fmt: skip
            pending: deque[Future] = deque()
            for i, frame in iter_frames(src.path, step=step):
                if scan is not None:
                    pending.append(pool.submit(scan.add, frame))
                if stats is not None and i % stats_step == 0:
                    pending.append(sums.submit(stats.add, frame))  # in order: the same sums as in line
                while len(pending) > 12:
                    pending.popleft().result()
                if held is not None and i % held_step == 0:
                    held.append(frame)
            for job in pending:
                job.result()
    static = None
    moving_marks: tuple = ()
    if user_mask is not None:
        static = estimate_blend(path, user_mask, src=src, frames=held)
    elif stats is not None:
        mask = _static_mask(stats)
        if mask.any():
            static = estimate_blend(path, mask, src=src, frames=held)
        if moving:
            moving_marks = detect_moving_marks(src, mask)
    track = None
    if scan is not None:
        track = _subtitle_track(scan, min_cue_seconds=MIN_CUE_SECONDS, whole_band=subtitles == "band")
    every = held is not None and step == 1 and held_step == 1
    return Detection(static, moving_marks, track), held if every else None
