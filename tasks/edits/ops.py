"""What each edit operation does to a streamed clip (``schemas.edits.<Op>.apply`` lands here)."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from schemas.edits import Add, EditError, Grade, Recolor, Reframe, Remove, Retime, Trim
from tasks.edits.clip import Clip
from tasks.edits.lut import LutApplier, look, parse_cube
from tasks.edits.reframe import crop_boxes, crop_size, parse_aspect, render_crop, smooth_path, subject_centres
from tasks.edits.track import BoxTracker, shift_mask

# ------------------------------------------------------------------------------------------------ regions


def _region_mask(op: Remove | Recolor, clip: Clip) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The op's first-frame mask (bool, clip size) and the box to track."""
    h, w = clip.height, clip.width
    if op.box is not None:
        x, y, bw, bh = op.box
        if x + bw > w or y + bh > h:
            raise EditError(f"box {list(op.box)} reaches outside the {w}x{h} frame", field=f"{op.op}.box",
                            hint=f"keep x+w ≤ {w} and y+h ≤ {h}")  # fmt: skip
        mask = np.zeros((h, w), bool)
        mask[y : y + bh, x : x + bw] = True
        return mask, op.box
    img = cv2.imread(str(op.mask), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise EditError(
            "mask is not a readable image", file=op.mask, field=f"{op.op}.mask", hint="use an 8-bit PNG"
        )
    if img.shape != (h, w):
        raise EditError(f"mask is {img.shape[1]}x{img.shape[0]} but the clip is {w}x{h} here", file=op.mask,
                        field=f"{op.op}.mask", hint="draw the mask at the clip's size at this point of the list")  # fmt: skip
    mask = img > 127
    if not mask.any():
        raise EditError("mask is empty", file=op.mask, field=f"{op.op}.mask", hint="paint the region white")
    ys, xs = np.nonzero(mask)
    return mask, (int(xs.min()), int(ys.min()), int(np.ptp(xs) + 1), int(np.ptp(ys) + 1))


def _tracked_masks(clip: Clip, mask: np.ndarray, box: tuple[int, int, int, int], track: bool):  # noqa: ANN202
    """Yield ``(frame, mask)`` with the mask following the tracked box."""
    tracker = None
    for frame in clip.frames():
        if tracker is None:
            tracker = BoxTracker(frame, box) if track else None
            yield frame, mask
            continue
        x, y, _, _ = tracker.update(frame)
        yield frame, shift_mask(mask, x - box[0], y - box[1])


def apply_remove(op: Remove, clip: Clip) -> Clip:
    from tasks.cleanup.remove import remove_overlays

    mask, box = _region_mask(op, clip)
    # tracking is good to a few pixels: grow the region by 10 % of its size (≥ 2 px) so no edge of it survives
    r = max(2, int(round(0.1 * max(box[2], box[3]))))
    grown = cv2.dilate(
        mask.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    ).astype(bool)

    def frames() -> Iterator[np.ndarray]:
        masks: dict[int, np.ndarray] = {}

        def source() -> Iterator[np.ndarray]:
            for i, (frame, m) in enumerate(_tracked_masks(clip, grown, box, op.track)):
                masks[i] = m
                yield frame

        def holes(i: int) -> np.ndarray | None:
            return masks.pop(i, None)

        yield from remove_overlays(source(), holes)

    return clip.with_frames(frames)


def _lab_hue_shift(frame: np.ndarray, weight: np.ndarray, degrees: float, saturation: float) -> np.ndarray:
    """Rotate the chroma (a*, b*) by ``degrees`` and scale it, L* untouched, blended by ``weight`` (0..1)."""
    ys, xs = np.nonzero(weight > 0)
    if len(xs) == 0:
        return frame
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    crop = frame[y0:y1, x0:x1].astype(np.float32) / 255
    lab = cv2.cvtColor(crop, cv2.COLOR_RGB2Lab)
    th = np.deg2rad(degrees)
    a, b = lab[..., 1].copy(), lab[..., 2].copy()
    lab[..., 1] = saturation * (a * np.cos(th) - b * np.sin(th))
    lab[..., 2] = saturation * (a * np.sin(th) + b * np.cos(th))
    rgb = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255, 0, 255)
    wgt = weight[y0:y1, x0:x1, None]
    out = frame.copy()
    out[y0:y1, x0:x1] = (wgt * rgb + (1 - wgt) * frame[y0:y1, x0:x1] + 0.5).astype(np.uint8)
    return out


def apply_recolor(op: Recolor, clip: Clip) -> Clip:
    mask, box = _region_mask(op, clip)

    def frames() -> Iterator[np.ndarray]:
        for frame, m in _tracked_masks(clip, mask, box, op.track):
            weight = m.astype(np.float32)
            if op.feather:
                k = 2 * op.feather + 1
                weight = cv2.GaussianBlur(weight, (k, k), 0) * m  # soft inside edge, nothing outside
            yield _lab_hue_shift(frame, weight, op.hue_shift, op.saturation)

    return clip.with_frames(frames)


# ---------------------------------------------------------------------------------------------------- add


def _load_rgba(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise EditError(
            "image is not readable", file=path, field="add.image", hint="use a PNG (with alpha) or JPEG"
        )
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if img.dtype != np.uint8:
        img = (img / 257).astype(np.uint8)
    return cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)


def _sprite(rgba: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Resize with premultiplied alpha (no dark fringes); returns premultiplied RGB float and alpha 0..1."""
    a = rgba[..., 3:4].astype(np.float32) / 255
    pre = rgba[..., :3].astype(np.float32) * a
    interp = cv2.INTER_AREA if w < rgba.shape[1] else cv2.INTER_CUBIC
    pre = cv2.resize(pre, (w, h), interpolation=interp)
    a = np.clip(cv2.resize(a, (w, h), interpolation=interp), 0, 1)
    return pre, a[..., None] if a.ndim == 2 else a


def composite_at(
    frame: np.ndarray, pre: np.ndarray, alpha: np.ndarray, x: int, y: int, opacity: float
) -> np.ndarray:
    """Alpha-composite a premultiplied sprite at (x, y), clipped to the frame."""
    h, w = frame.shape[:2]
    sh, sw = alpha.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, x), max(0, y), min(w, x + sw), min(h, y + sh)
    if fx0 >= fx1 or fy0 >= fy1:
        return frame
    sx0, sy0 = fx0 - x, fy0 - y
    a = alpha[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0] * opacity
    p = pre[sy0 : sy0 + fy1 - fy0, sx0 : sx0 + fx1 - fx0] * opacity
    out = frame.copy()
    region = out[fy0:fy1, fx0:fx1].astype(np.float32)
    out[fy0:fy1, fx0:fx1] = np.clip(p + (1 - a) * region + 0.5, 0, 255).astype(np.uint8)
    return out


def apply_add(op: Add, clip: Clip) -> Clip:
    rgba = _load_rgba(op.image)
    x, y, w, h = op.box
    pre, alpha = _sprite(rgba, w, h)
    if op.follow is not None:
        fx, fy, fw, fh = op.follow
        if fx + fw > clip.width or fy + fh > clip.height:
            raise EditError(f"follow box {list(op.follow)} reaches outside the {clip.width}x{clip.height} frame",
                            field="add.follow")  # fmt: skip

    def frames() -> Iterator[np.ndarray]:
        tracker = None
        for frame in clip.frames():
            dx = dy = 0
            if op.follow is not None:
                if tracker is None:
                    tracker = BoxTracker(frame, op.follow)
                else:
                    tx, ty, _, _ = tracker.update(frame)
                    dx, dy = tx - op.follow[0], ty - op.follow[1]
            yield composite_at(frame, pre, alpha, x + dx, y + dy, op.opacity)

    return clip.with_frames(frames)


# -------------------------------------------------------------------------------------------------- grade


def apply_grade(op: Grade, clip: Clip) -> Clip:
    lut = parse_cube(op.lut) if op.lut is not None else look(op.look)  # type: ignore[arg-type]
    holder: list[LutApplier] = []

    def frames() -> Iterator[np.ndarray]:
        if not holder:
            holder.append(LutApplier(lut, op.strength))
        apply = holder[0]
        for frame in clip.frames():
            yield apply(frame)

    return clip.with_frames(frames)


# ------------------------------------------------------------------------------------------------ reframe


def apply_reframe(op: Reframe, clip: Clip) -> Clip:
    aspect = parse_aspect(op.aspect)
    cw, ch = crop_size(clip.width, clip.height, aspect)
    size = op.size or (cw, ch)
    if size[0] % 2 or size[1] % 2 or size[0] < 2 or size[1] < 2:
        raise EditError(f"output size {list(size)} must be even and positive", field="reframe.size")
    centres = None
    if op.mode == "subject":
        # a cheap first pass on small frames: the path must see the future to glide ahead of the subject
        raw = subject_centres(clip.frames(), clip.width)
        centres = smooth_path(
            raw, clip.fps, op.smooth_seconds, max_speed=max(1.0, clip.width / float(clip.fps) / 3)
        )
    boxes = crop_boxes(op.mode, clip.width, clip.height, clip.count, aspect, centres=centres, zoom=op.zoom,
                       pan_from=op.pan_from, pan_to=op.pan_to)  # fmt: skip

    def frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(clip.frames()):
            yield render_crop(frame, boxes[min(i, len(boxes) - 1)], size)

    return clip.with_frames(frames, width=size[0], height=size[1])


# ------------------------------------------------------------------------------------------- trim, retime


def apply_trim(op: Trim, clip: Clip) -> Clip:
    end = clip.count if op.end is None else op.end
    if op.start >= clip.count or end > clip.count:
        raise EditError(f"trim {op.start}..{end} is outside the clip's {clip.count} frames", field="trim",
                        hint=f"frames are numbered 0..{clip.count - 1} at this point of the list; end is exclusive")  # fmt: skip

    def frames() -> Iterator[np.ndarray]:
        for i, frame in enumerate(clip.frames()):
            if i >= end:
                return
            if i >= op.start:
                yield frame

    return clip.with_frames(
        frames,
        count=end - op.start,
        audio_start=clip.source_seconds(op.start),
        audio_end=clip.source_seconds(end),
    )


def apply_retime(op: Retime, clip: Clip) -> Clip:
    speed = Fraction(op.speed).limit_denominator(1000)
    count = max(1, int(clip.count / speed))
    # output frame i shows source frame floor(i·speed): frame-exact, no blending, frame rate unchanged
    picks = [min(clip.count - 1, int(i * speed)) for i in range(count)]
    end = clip.audio_end if clip.audio_end is not None else clip.source_seconds(clip.count)

    def frames() -> Iterator[np.ndarray]:
        it = iter(clip.frames())
        cur, idx = None, -1
        for want in picks:
            while idx < want:
                cur = next(it)
                idx += 1
            yield cur  # type: ignore[misc]

    return clip.with_frames(frames, count=count, tempo=clip.tempo * speed, audio_end=end)


def atempo_chain(tempo: Fraction) -> str:
    """``atempo`` filters for any tempo (each stage is kept within 0.5..2 for quality)."""
    t = float(tempo)
    parts = []
    while t > 2.0:
        parts.append(2.0)
        t /= 2.0
    while t < 0.5:
        parts.append(0.5)
        t /= 0.5
    parts.append(t)
    return ",".join(f"atempo={p:.6f}" for p in parts)
