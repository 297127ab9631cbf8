"""A second, backward pass for what the forward pass could only carry or paint.

The forward pass (:mod:`tasks.cleanup.remove`) fills a hole pixel from the frames within ``reach`` that show
it, else carries the previous *output* forward, else paints it. Under a mark that stays put while the camera
slowly moves (a caption burned over a whole handheld clip), much of what it hides is shown only by frames
*later* than ``reach``: the forward pass has painted a smear there and carried it on. The backward pass runs the
same removal over the clip in reverse (on the region crops the forward pass kept, on disk), so what a later
frame shows is carried back; each pixel then takes the two passes weighted by how recently what they show was
seen (its *age*, ``1 / (1 + age)²``): a pixel one pass saw now and the other painted takes the seen one.

Only the regions' boxes are kept (merged across the clip, four bytes and a bit a pixel a frame, in memory-mapped
files beside the output).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from tasks.cleanup.detect import merge_overlapping
from tasks.cleanup.remove import (
    SPATIAL, Box, Inpainter, RemovalSettings, RemovalStats, regions, remove_overlays_aged,
)  # fmt: skip


def clip_boxes(holes: Callable[[int], np.ndarray | None], frames: int, margin: int) -> list[Box]:
    """The boxes of every frame's regions, merged where they overlap: each holds one group of regions for the
    whole clip (a logo's corner, the subtitle band)."""
    boxes: list[list[int]] = []
    last: np.ndarray | None = None
    for i in range(frames):
        hole = holes(i)
        if hole is None or (last is not None and np.array_equal(hole, last)):
            continue
        last = hole
        boxes = merge_overlapping(boxes + [list(b) for b in regions(hole, margin)])
    return sorted(tuple(b) for b in boxes)  # type: ignore[misc]


def store_bytes(boxes: list[Box], frames: int) -> int:
    """The disk space a :class:`RegionStore` of ``boxes`` takes for ``frames`` frames (about)."""
    return frames * sum(4 * (y1 - y0) * (x1 - x0) + (y1 - y0) * (x1 - x0) // 8 + 1 for y0, y1, x0, x1 in boxes)


class RegionStore:
    """Per box and frame, memory-mapped: the forward output's crop (``h × w × 3``), its age (``h × w``) and
    the hole (``h × w`` bits)."""

    def __init__(self, boxes: list[Box], frames: int, directory: str | Path) -> None:
        self.boxes = boxes
        self.frames = frames
        self.out: list[np.memmap] = []
        self.age: list[np.memmap] = []
        self.holes: list[np.memmap] = []
        for k, (y0, y1, x0, x1) in enumerate(boxes):
            shape = (frames, y1 - y0, x1 - x0)
            self.out.append(np.memmap(Path(directory) / f"out{k}.u8", np.uint8, "w+", shape=(*shape, 3)))
            self.age.append(np.memmap(Path(directory) / f"age{k}.u8", np.uint8, "w+", shape=shape))
            bits = -(-(y1 - y0) * (x1 - x0) // 8)
            self.holes.append(np.memmap(Path(directory) / f"hole{k}.bits", np.uint8, "w+", shape=(frames, bits)))
        self.hole_pixels = 0
        self.unseen_pixels = 0

    def keep(self, i: int, out: np.ndarray, age: np.ndarray | None, hole: np.ndarray | None) -> None:
        """Frame ``i`` of the forward pass: its output, the output's age and the frame's hole (full frame)."""
        for k, (y0, y1, x0, x1) in enumerate(self.boxes):
            self.out[k][i] = out[y0:y1, x0:x1]
            self.age[k][i] = 0 if age is None else age[y0:y1, x0:x1]
            if hole is not None and age is not None:
                h = hole[y0:y1, x0:x1]
                self.holes[k][i] = np.packbits(h, axis=None)
                self.hole_pixels += int(h.sum())
                self.unseen_pixels += int(np.count_nonzero(self.age[k][i][h]))

    def hole(self, k: int, i: int) -> np.ndarray:
        y0, y1, x0, x1 = self.boxes[k]
        return np.unpackbits(self.holes[k][i], count=(y1 - y0) * (x1 - x0)).reshape(y1 - y0, x1 - x0).astype(bool)

    def unseen(self) -> float:
        """The share of hole pixels (all frames) the forward pass carried or painted."""
        return self.unseen_pixels / self.hole_pixels if self.hole_pixels else 0.0

    def paste(self, i: int, frame: np.ndarray) -> np.ndarray:
        out = frame.copy()
        for k, (y0, y1, x0, x1) in enumerate(self.boxes):
            out[y0:y1, x0:x1] = self.out[k][i]
        return out


def backward(
    store: RegionStore, *, inpainter: Inpainter | None, settings: RemovalSettings | None,
    stats_out: list[RemovalStats] | None = None,
) -> None:  # fmt: skip
    """Run the removal over each box's crops in reverse and merge it into ``store`` by age (in place); the
    boxes are independent and run side by side."""
    with ThreadPoolExecutor(2, thread_name_prefix="backward") as pool:
        for done in [pool.submit(_backward_box, store, k, inpainter, settings, stats_out)
                     for k in range(len(store.boxes))]:  # fmt: skip
            done.result()


def _backward_box(
    store: RegionStore, k: int, inpainter: Inpainter | None, settings: RemovalSettings | None,
    stats_out: list[RemovalStats] | None,
) -> None:  # fmt: skip
    """One box of :func:`backward`: frame ``j`` of the reversed run is frame ``n - 1 - j`` of the clip."""
    n = store.frames

    def hole_b(j: int) -> np.ndarray | None:
        h = store.hole(k, n - 1 - j)
        return h if h.any() else None

    # the forward output is the input: outside the holes it is the (inverted) frame, inside it is not read
    crops = (np.array(store.out[k][n - 1 - j]) for j in range(n))
    for j, (b, b_age) in enumerate(
        remove_overlays_aged(crops, hole_b, inpainter=inpainter, settings=settings, stats_out=stats_out)
    ):
        if b_age is None:
            continue
        i = n - 1 - j
        a, a_age = store.out[k][i], store.age[k][i]
        wa = 1.0 / (1.0 + a_age.astype(np.float32)) ** 2
        wb = 1.0 / (1.0 + b_age.astype(np.float32)) ** 2
        w = (wa / (wa + wb))[..., None]
        store.out[k][i] = (w * a + (1 - w) * b + 0.5).astype(np.uint8)
        store.age[k][i] = np.minimum(a_age, b_age)


def merged(frames: Iterable[np.ndarray], store: RegionStore, invert: Callable[[np.ndarray], np.ndarray] | None
           ) -> Iterator[np.ndarray]:  # fmt: skip
    """The source frames (see-through marks inverted) with the store's merged crops pasted in."""
    for i, f in enumerate(frames):
        yield store.paste(i, invert(f) if invert is not None else f)


def store_dir(near: str | Path) -> tempfile.TemporaryDirectory:
    """A temporary folder for the crops, beside the output (same disk) where it can be made."""
    try:
        return tempfile.TemporaryDirectory(prefix=".reelwright-regions-", dir=Path(near).parent)
    except OSError:
        return tempfile.TemporaryDirectory(prefix="reelwright-regions-")
